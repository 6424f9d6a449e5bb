#!/bin/sh
# Create a self-signed placeholder certificate when the `tls` volume has none,
# so nginx can start and serve Certbot's first http-01 challenge. Certbot's
# deploy hook replaces it with the issued certificate.
set -eu

tls_dir=/etc/nginx/tls
if [ -s "$tls_dir/fullchain.pem" ] && [ -s "$tls_dir/privkey.pem" ]; then
    exit 0
fi

echo "30-placeholder-certificate: no certificate in $tls_dir, creating a self-signed one for ${DOMAIN:-localhost}"
openssl req -x509 -newkey rsa:2048 -nodes -days 7 \
    -subj "/CN=${DOMAIN:-localhost}" \
    -keyout "$tls_dir/privkey.pem" -out "$tls_dir/fullchain.pem" 2>/dev/null
chmod 0600 "$tls_dir/privkey.pem"
