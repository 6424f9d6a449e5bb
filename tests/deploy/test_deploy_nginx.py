"""Checks of the nginx configuration in deploy/nginx.

`nginx -t` runs on a temporary copy of the configuration, because the real
one needs three things this machine lacks:

- certificates: trustme writes a throwaway certificate and key to the
  relative paths tls/fullchain.pem and tls/privkey.pem that the config uses;
- the compose service names in `upstream` blocks (api, gateway, dashboard):
  nginx resolves them while it loads the config, so the copy points them at
  127.0.0.1 with the same ports;
- a writable /tmp layout: the copy moves the pid file and temporary folders
  into the temporary directory.

nginx runs with `-p` and `-c` on that directory, so the relative include and
certificate paths resolve there as they resolve to /etc/nginx in the image.
`nginx -t` parses and loads the config but opens no listening sockets. The
test skips when nginx is not installed (Debian: apt-get install -y nginx).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import trustme
from deploy_files import REPO_ROOT

NGINX_DIR = REPO_ROOT / "deploy" / "nginx"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None)
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (apt-get install -y nginx)"
)
WEAK_CIPHER_WORDS = ["RC4", "3DES", "DES-CBC", "MD5", "NULL", "EXPORT", "CBC", "aNULL"]


def write_certificate(tls_dir: Path) -> None:
    tls_dir.mkdir()
    authority = trustme.CA()
    certificate = authority.issue_cert("mometrics.test")
    certificate.private_key_pem.write_to_path(str(tls_dir / "privkey.pem"))
    certificate.cert_chain_pems[0].write_to_path(str(tls_dir / "fullchain.pem"))


def write_mime_types(path: Path) -> None:
    system_copy = Path("/etc/nginx/mime.types")
    if system_copy.is_file():
        shutil.copyfile(system_copy, path)
    else:
        path.write_text("types {\n    text/html html;\n}\n", encoding="utf-8")


def localize(text: str, run_dir: Path) -> str:
    """Point upstream servers at 127.0.0.1 and /tmp paths at run_dir."""
    text = re.sub(
        r"^(\s*server\s+)[a-z][a-z0-9_-]*(:\d+)",
        r"\g<1>127.0.0.1\g<2>",
        text,
        flags=re.MULTILINE,
    )
    return text.replace("/tmp/", f"{run_dir}/")


def run_nginx_test(prefix: Path) -> subprocess.CompletedProcess[str]:
    assert NGINX is not None
    command = [
        NGINX,
        "-t",
        "-e",
        "stderr",
        "-p",
        f"{prefix}/",
        "-c",
        str(prefix / "nginx.conf"),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


@pytest.fixture
def proxy_prefix(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copytree(NGINX_DIR / "conf.d", tmp_path / "conf.d")
    shutil.copytree(NGINX_DIR / "snippets", tmp_path / "snippets")
    shutil.copyfile(NGINX_DIR / "nginx.conf", tmp_path / "nginx.conf")
    for path in [tmp_path / "nginx.conf", *(tmp_path / "conf.d").glob("*.conf")]:
        path.write_text(localize(path.read_text(encoding="utf-8"), run_dir))
    write_mime_types(tmp_path / "mime.types")
    write_certificate(tmp_path / "tls")
    return tmp_path


@needs_nginx
def test_proxy_config_passes_nginx_t(proxy_prefix: Path) -> None:
    result = run_nginx_test(proxy_prefix)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    assert "test is successful" in result.stderr


@needs_nginx
def test_nginx_t_rejects_missing_certificate(proxy_prefix: Path) -> None:
    # Guards the test above: a config whose certificate is missing must fail.
    (proxy_prefix / "tls" / "fullchain.pem").unlink()
    result = run_nginx_test(proxy_prefix)
    assert result.returncode != 0
    assert "fullchain.pem" in result.stderr


@needs_nginx
def test_dashboard_config_passes_nginx_t(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copyfile(NGINX_DIR / "dashboard.conf", tmp_path / "dashboard.conf")
    write_mime_types(tmp_path / "mime.types")
    # The image's own nginx.conf wraps conf.d/default.conf in an http block.
    (tmp_path / "nginx.conf").write_text(
        f"pid {run_dir}/nginx.pid;\n"
        "events {}\n"
        "http {\n"
        "    include mime.types;\n"
        f"    client_body_temp_path {run_dir}/client_temp;\n"
        f"    proxy_temp_path {run_dir}/proxy_temp;\n"
        f"    fastcgi_temp_path {run_dir}/fastcgi_temp;\n"
        f"    uwsgi_temp_path {run_dir}/uwsgi_temp;\n"
        f"    scgi_temp_path {run_dir}/scgi_temp;\n"
        "    include dashboard.conf;\n"
        "}\n",
        encoding="utf-8",
    )
    result = run_nginx_test(tmp_path)
    assert result.returncode == 0, result.stderr


def read(relative: str) -> str:
    return (NGINX_DIR / relative).read_text(encoding="utf-8")


def directive_values(text: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]+);", text, flags=re.MULTILINE)


def test_tls_allows_only_modern_protocols() -> None:
    tls = read("snippets/tls.conf")
    assert directive_values(tls, "ssl_protocols") == ["TLSv1.2 TLSv1.3"]
    [ciphers] = directive_values(tls, "ssl_ciphers")
    for word in WEAK_CIPHER_WORDS:
        assert word not in ciphers, f"weak cipher word {word} in ssl_ciphers"
    for cipher in ciphers.split(":"):
        assert cipher.startswith("ECDHE-"), f"{cipher} lacks forward secrecy"


def test_https_sends_hsts() -> None:
    headers = read("snippets/security-headers.conf")
    [hsts] = re.findall(r'Strict-Transport-Security "max-age=(\d+)', headers)
    assert int(hsts) >= 31_536_000
    site = read("conf.d/mometrics.conf")
    assert "include snippets/security-headers.conf;" in site
    assert "include snippets/tls.conf;" in site


def test_http_redirects_and_serves_acme() -> None:
    site = read("conf.d/mometrics.conf")
    assert "return 301 https://$host$request_uri;" in site
    acme = re.search(r"location /\.well-known/acme-challenge/ \{(.*?)\}", site, re.DOTALL)
    assert acme, "no ACME http-01 location"
    assert "root /var/www/certbot;" in acme.group(1)


def test_grpc_streams_have_long_timeouts() -> None:
    grpc = read("snippets/grpc-stream.conf")
    assert directive_values(grpc, "grpc_pass") == ["grpc://gateway"]
    for name in ["grpc_read_timeout", "grpc_send_timeout", "client_body_timeout"]:
        [value] = directive_values(grpc, name)
        assert value in {"1h", "3600s"} or value.endswith("h"), f"{name} is {value}"
    assert directive_values(grpc, "client_max_body_size") == ["0"]
    site = read("conf.d/mometrics.conf")
    for service in ["/mometrics.probe.v1.", "/grpc.health.v1.Health/"]:
        assert f"location {service} {{" in site, f"no gRPC location for {service}"


def test_https_listener_uses_http2() -> None:
    site = read("conf.d/mometrics.conf")
    listeners = directive_values(site, "listen")
    assert "8443 ssl http2 default_server" in listeners


def test_gzip_and_body_limits() -> None:
    main = read("nginx.conf")
    assert directive_values(main, "gzip") == ["on"]
    [limit] = directive_values(main, "client_max_body_size")
    assert re.fullmatch(r"\d+[km]", limit), f"client_max_body_size is {limit}"


def test_dashboard_caches_hashed_assets() -> None:
    dashboard = read("dashboard.conf")
    assets = re.search(r"location /assets/ \{(.*?)\}", dashboard, re.DOTALL)
    assert assets, "no /assets/ location"
    assert "immutable" in assets.group(1)
    assert "max-age=31536000" in assets.group(1)
    assert "try_files $uri $uri/ /index.html;" in dashboard
