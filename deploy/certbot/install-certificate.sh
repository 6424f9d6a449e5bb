#!/bin/sh
# Certbot deploy hook: copy the renewed certificate and key into the `tls`
# volume, owned by nginx's user (uid 101 in the nginxinc/nginx-unprivileged
# image). nginx notices the change and reloads within five minutes.
# Certbot sets RENEWED_LINEAGE to the live folder of the certificate.
set -eu

: "${RENEWED_LINEAGE:?RENEWED_LINEAGE is not set; run this as a certbot --deploy-hook}"
target=/tls

install -m 0644 -o 101 -g 101 "$RENEWED_LINEAGE/fullchain.pem" "$target/fullchain.pem.new"
install -m 0600 -o 101 -g 101 "$RENEWED_LINEAGE/privkey.pem" "$target/privkey.pem.new"
# Replace the key first, then the certificate that the reload loop watches.
mv "$target/privkey.pem.new" "$target/privkey.pem"
mv "$target/fullchain.pem.new" "$target/fullchain.pem"
echo "install-certificate: installed $RENEWED_LINEAGE into $target"
