#!/bin/sh
# Start a background loop that reloads nginx when Certbot installs a new
# certificate in /etc/nginx/tls. The loop keeps running after the image's
# entrypoint replaces itself with nginx.
set -eu

certificate=/etc/nginx/tls/fullchain.pem
interval_s=300

(
    last=$(cksum "$certificate" 2>/dev/null || true)
    while sleep "$interval_s"; do
        current=$(cksum "$certificate" 2>/dev/null || true)
        if [ "$current" != "$last" ]; then
            echo "40-reload-on-certificate-change: $certificate changed, reloading nginx"
            nginx -s reload || echo "40-reload-on-certificate-change: nginx reload failed" >&2
            last=$current
        fi
    done
) &
