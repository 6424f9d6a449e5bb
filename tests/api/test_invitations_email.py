"""Invitation emails through a local SMTP server with STARTTLS.

One test runs the real worker process over the real Redis broker. The
others call the job's plain function to cover retries, rejections and skips.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics_control.api.app import create_app
from mometrics_control.auth.tokens import hash_secret, new_secret
from mometrics_control.config import ConfigError, Settings, get_settings, load_settings
from mometrics_control.db import create_engine, create_sessionmaker
from mometrics_control.invitations import mail
from mometrics_control.invitations.models import Invitation
from mometrics_control.models import Organization
from tests.api.conftest import new_tenant

PUBLIC_URL = "http://127.0.0.1:8000"
WORKER = Path(sys.executable).with_name("mometrics-control")
LINK = re.compile(re.escape(PUBLIC_URL) + r"/invitations/accept#token=([A-Za-z0-9_-]+)")


class Inbox:
    """An aiosmtpd handler that keeps every message, or rejects every recipient."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.is_rejecting = False

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.is_rejecting:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted"


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    """Return the inbox, port and CA file of an SMTP server that requires STARTTLS."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_path = tmp_path / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    inbox = Inbox()
    # aiosmtpd's readiness check connects to the configured port, so pick a
    # free port first instead of port 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    yield inbox, port, ca_path
    controller.stop()


@pytest.fixture
def mail_env(
    control_env: dict[str, str],
    smtp_server: tuple[Inbox, int, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    _, port, ca_path = smtp_server
    env = {
        **control_env,
        "MOMETRICS_SMTP_HOST": "127.0.0.1",
        "MOMETRICS_SMTP_PORT": str(port),
        "MOMETRICS_SMTP_FROM": "invites@example.org",
        "MOMETRICS_SMTP_CA_FILE": str(ca_path),
        "MOMETRICS_PUBLIC_URL": PUBLIC_URL + "/",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return env


@pytest.fixture
async def mail_api(mail_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(load_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
            yield client


@pytest.fixture
async def sessions(mail_env: dict[str, str]) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(mail_env["MOMETRICS_DATABASE_URL"], pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def poll(check: Callable[[], Awaitable[bool]], timeout_s: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


def start_worker(log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [str(WORKER), "worker", "--processes", "1", "--threads", "1"],
            env=dict(os.environ),
            start_new_session=True,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


async def test_invitation_email_sent_by_worker(
    mail_api: httpx.AsyncClient, smtp_server: tuple[Inbox, int, Path], tmp_path: Path
) -> None:
    inbox, _, _ = smtp_server
    owner = await new_tenant(mail_api, "mail-owner@example.org")
    path = f"/organizations/{owner.organization_id}/invitations"
    log_path = tmp_path / "worker.log"

    async def has_mail() -> bool:
        return bool(inbox.messages)

    async def is_marked_sent() -> bool:
        items = (await mail_api.get(path, headers=owner.headers)).json()["items"]
        return bool(items and items[0]["email_sent_at"])

    # Given a running worker, when an owner invites a new address
    worker = start_worker(log_path)
    try:
        created = await mail_api.post(
            path, json={"email": "Newcomer@Example.org", "role": "admin"}, headers=owner.headers
        )
        assert created.status_code == 201, created.text
        await poll(has_mail)
        await poll(is_marked_sent)
    finally:
        stop_worker(worker)

    # Then the invitee gets one email with a working accept link
    assert created.json()["delivery"] == "email"
    assert created.json()["accept_url"] is None
    (message,) = inbox.messages
    assert message["To"] == "newcomer@example.org"
    assert message["From"] == "invites@example.org"
    assert "mail-owner's organisation" in message["Subject"]
    body = message.get_content()
    assert "mail-owner@example.org invited you" in body
    assert "with the role admin" in body
    match = LINK.search(body)
    assert match is not None, body
    token = match.group(1)
    (listed,) = (await mail_api.get(path, headers=owner.headers)).json()["items"]
    assert listed["email_error"] is None

    registered = await mail_api.post(
        "/auth/register",
        json={
            "email": "newcomer@example.org",
            "password": "s3cret-pass",
            "invitation_token": token,
        },
    )
    assert registered.status_code == 201, registered.text
    login = await mail_api.post(
        "/auth/login", json={"email": "newcomer@example.org", "password": "s3cret-pass"}
    )
    me = await mail_api.get(
        "/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert [(o["id"], o["role"]) for o in me.json()["organizations"]] == [
        (owner.organization_id, "admin")
    ]
    # The token never reaches the worker's output.
    assert token not in log_path.read_text(errors="replace")


async def test_invitation_without_public_url_returns_link(
    control_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOMETRICS_SMTP_HOST", "127.0.0.1")
    app = create_app(load_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as api:
            owner = await new_tenant(api, "nourl-owner@example.org")
            created = await api.post(
                f"/organizations/{owner.organization_id}/invitations",
                json={"email": "someone@example.org"},
                headers=owner.headers,
            )

    assert created.status_code == 201
    assert created.json()["delivery"] == "link"
    assert created.json()["accept_url"].startswith("http://test/invitations/accept#token=")


async def _add_invitation(
    sessions: async_sessionmaker[AsyncSession], **fields: Any
) -> tuple[uuid.UUID, str]:
    """Store an organisation and an email invitation, and return the invitation's id and token."""
    token = new_secret()
    organization_id, invitation_id = uuid.uuid4(), uuid.uuid4()
    values: dict[str, Any] = {
        "id": invitation_id,
        "organization_id": organization_id,
        "email": "guest@example.org",
        "role": "member",
        "token_hash": hash_secret(token),
        "expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
        "delivery": "email",
        "email_attempts": 0,
        **fields,
    }
    async with sessions() as session:
        session.add(Organization(id=organization_id, name="Acme"))
        await session.flush()
        session.add(Invitation(**values))
        await session.commit()
    return invitation_id, token


async def _stored(
    sessions: async_sessionmaker[AsyncSession], invitation_id: uuid.UUID
) -> Invitation:
    async with sessions() as session:
        invitation = await session.get(Invitation, invitation_id)
        assert invitation is not None
        return invitation


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_email_delivery_sends_once(
    mail_env: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: tuple[Inbox, int, Path],
) -> None:
    inbox, _, _ = smtp_server
    settings = load_settings()
    invitation_id, token = await _add_invitation(sessions)
    encrypted = mail.encrypt_token(settings, token)

    first = await mail.deliver(sessions, settings, invitation_id, encrypted)
    second = await mail.deliver(sessions, settings, invitation_id, encrypted)

    assert token not in encrypted
    assert first == mail.Outcome.SENT
    assert second == mail.Outcome.SKIPPED
    (message,) = inbox.messages
    assert message["To"] == "guest@example.org"
    assert f"{PUBLIC_URL}/invitations/accept#token={token}" in message.get_content()
    assert "An administrator invited you" in message.get_content()
    stored = await _stored(sessions, invitation_id)
    assert stored.email_sent_at is not None
    assert stored.email_attempts == 1


async def test_email_delivery_retries_then_gives_up(
    mail_env: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    settings = load_settings().model_copy(update={"smtp_port": _closed_port()})
    invitation_id, token = await _add_invitation(sessions)
    encrypted = mail.encrypt_token(settings, token)

    with pytest.raises(mail.EmailFailed):
        await mail.deliver(sessions, settings, invitation_id, encrypted)
    after_first = await _stored(sessions, invitation_id)
    async with sessions() as session:
        stored = await session.get(Invitation, invitation_id)
        assert stored is not None
        stored.email_attempts = mail.MAX_EMAIL_ATTEMPTS - 1
        await session.commit()
    last = await mail.deliver(sessions, settings, invitation_id, encrypted)

    assert after_first.email_attempts == 1
    assert after_first.email_error is not None
    assert after_first.email_error.startswith("SMTP send failed")
    assert last == mail.Outcome.DROPPED
    final = await _stored(sessions, invitation_id)
    assert final.email_attempts == mail.MAX_EMAIL_ATTEMPTS
    assert final.email_sent_at is None


async def test_email_delivery_rejected_recipient_drops(
    mail_env: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: tuple[Inbox, int, Path],
) -> None:
    inbox, _, _ = smtp_server
    inbox.is_rejecting = True
    settings = load_settings()
    invitation_id, token = await _add_invitation(sessions)

    outcome = await mail.deliver(
        sessions, settings, invitation_id, mail.encrypt_token(settings, token)
    )

    assert outcome == mail.Outcome.DROPPED
    stored = await _stored(sessions, invitation_id)
    assert stored.email_error is not None
    assert "rejected the recipient" in stored.email_error
    assert stored.email_attempts == 1
    assert inbox.messages == []


@pytest.mark.parametrize(
    "fields",
    [
        {"revoked_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
        {"accepted_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
        {"expires_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
    ],
    ids=["revoked", "accepted", "expired"],
)
async def test_email_delivery_skips_closed_invitation(
    mail_env: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: tuple[Inbox, int, Path],
    fields: dict[str, Any],
) -> None:
    inbox, _, _ = smtp_server
    settings = load_settings()
    invitation_id, token = await _add_invitation(sessions, **fields)

    outcome = await mail.deliver(
        sessions, settings, invitation_id, mail.encrypt_token(settings, token)
    )

    assert outcome == mail.Outcome.SKIPPED
    assert inbox.messages == []
    assert (await _stored(sessions, invitation_id)).email_attempts == 0


async def test_email_delivery_drops_after_key_change(
    mail_env: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: tuple[Inbox, int, Path],
) -> None:
    inbox, _, _ = smtp_server
    settings = load_settings()
    old_settings: Settings = settings.model_copy(update={"jwt_secret": SecretStr("o" * 40)})
    invitation_id, token = await _add_invitation(sessions)

    outcome = await mail.deliver(
        sessions, settings, invitation_id, mail.encrypt_token(old_settings, token)
    )

    assert outcome == mail.Outcome.DROPPED
    assert inbox.messages == []
    stored = await _stored(sessions, invitation_id)
    assert stored.email_error is not None
    assert "signing keys changed" in stored.email_error


@pytest.mark.parametrize(
    "value",
    ["mometrics.example.com", "ftp://mometrics.example.com", "https://host.example/?next=1"],
    ids=["no-scheme", "ftp", "query"],
)
def test_public_url_rejects_invalid(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOMETRICS_ENV", "development")
    monkeypatch.setenv("MOMETRICS_PUBLIC_URL", value)

    with pytest.raises(ConfigError, match="MOMETRICS_PUBLIC_URL"):
        load_settings()


def test_public_url_drops_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOMETRICS_ENV", "development")
    monkeypatch.setenv("MOMETRICS_PUBLIC_URL", "https://mometrics.example.com/")

    assert load_settings().public_url == "https://mometrics.example.com"
