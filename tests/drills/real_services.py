"""Real servers for the walkthrough drill: nginx, a DNS server and an SMTP server.

Each listens on a loopback port chosen at start. nginx runs from the Debian
package with a configuration written into the drill's folder. The DNS server
(dnslib) and the SMTP server (aiosmtpd) run in threads of the test process.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dnslib
import trustme
from aiosmtpd.controller import Controller
from dnslib.server import DNSServer

from tests.e2e.stack import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PAGE_TEXT = "walkthrough page"
# The request and status of a line in nginx's default (combined) access log.
_ACCESS_LINE = re.compile(r'"[A-Z]+ (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')

NGINX_CONF = """\
# One process, no privilege drop: the files below sit in the test's private folder.
master_process off;
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;

events {{
    worker_connections 64;
}}

http {{
    default_type text/plain;
    access_log {root}/access.log;
    client_body_temp_path {root}/tmp/client_body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;

    server {{
        listen 127.0.0.1:{http_port};
        location = /old {{
            return 301 /page.txt;
        }}
        location / {{
            root {root}/html;
        }}
    }}

    server {{
        listen 127.0.0.1:{https_port} ssl;
        ssl_certificate {root}/server.pem;
        ssl_certificate_key {root}/server.key;
        location / {{
            root {root}/html;
        }}
    }}
}}
"""


def wait_for_port(port: int, timeout_s: float = 10.0) -> bool:
    """Return True once 127.0.0.1:port accepts a TCP connection."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


class Nginx:
    """An nginx of this test: HTTP with a 301 to a page, and HTTPS with a trustme certificate."""

    def __init__(self, workdir: Path) -> None:
        self.root = workdir / "nginx"
        self.http_port = free_port()
        self.https_port = free_port()
        self.ca = trustme.CA()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def ca_pem(self) -> str:
        return self.ca.cert_pem.bytes().decode()

    @property
    def redirect_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/old"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}/page.txt"

    def write_config(self) -> None:
        (self.root / "tmp").mkdir(parents=True)
        (self.root / "html").mkdir()
        (self.root / "html" / "page.txt").write_text(PAGE_TEXT + "\n")
        certificate = self.ca.issue_cert("127.0.0.1", "localhost")
        certificate.private_key_pem.write_to_path(str(self.root / "server.key"))
        certificate.cert_chain_pems[0].write_to_path(str(self.root / "server.pem"))
        config = NGINX_CONF.format(
            root=self.root, http_port=self.http_port, https_port=self.https_port
        )
        (self.root / "nginx.conf").write_text(config)

    def start(self) -> None:
        if not (self.root / "nginx.conf").exists():
            self.write_config()
        command = [NGINX, "-p", str(self.root), "-c", str(self.root / "nginx.conf")]
        with open(self.root / "stderr.log", "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        for port in (self.http_port, self.https_port):
            if not wait_for_port(port):
                self.stop()
                raise AssertionError(f"nginx did not listen on {port}:\n{self.error_log()}")
        self.starts += 1

    def stop(self) -> None:
        """Stop nginx with SIGTERM (its fast shutdown); both ports then refuse connections."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def error_log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def access_statuses(self, path: str) -> list[int]:
        """Return the status of every logged request for `path`, in order."""
        log_path = self.root / "access.log"
        if not log_path.exists():
            return []
        statuses = []
        for match in _ACCESS_LINE.finditer(log_path.read_text(errors="replace")):
            if match.group("path") == path:
                statuses.append(int(match.group("status")))
        return statuses


class _FixedAnswers:
    """A dnslib resolver that returns fixed A records and NXDOMAIN for other names."""

    def __init__(self, records: dict[str, str]) -> None:
        self.records = {name.rstrip(".").lower(): address for name, address in records.items()}
        self.queries = 0
        self._lock = threading.Lock()

    def resolve(self, request: dnslib.DNSRecord, handler: Any) -> dnslib.DNSRecord:
        with self._lock:
            self.queries += 1
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        address = self.records.get(name)
        if address is None:
            reply.header.rcode = dnslib.RCODE.NXDOMAIN
        elif request.q.qtype == dnslib.QTYPE.A:
            reply.add_answer(dnslib.RR(request.q.qname, dnslib.QTYPE.A, rdata=dnslib.A(address)))
        return reply


class DnsServer:
    """A UDP DNS server on 127.0.0.1 that returns fixed A records."""

    def __init__(self, records: dict[str, str]) -> None:
        self.port = free_port()
        self.resolver = _FixedAnswers(records)
        self.server = DNSServer(
            self.resolver, address="127.0.0.1", port=self.port, logger=_QuietDnsLogger()
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> DnsServer:
        self.server.start_thread()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.server.server.server_close()


class _QuietDnsLogger:
    """A dnslib logger that logs nothing, so pytest's output stays readable."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


class _MailHandler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that stores every message it accepts (no STARTTLS)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = _MailHandler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.handler.messages)

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.messages]

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(AssertionError, RuntimeError):
            self.controller.stop()
