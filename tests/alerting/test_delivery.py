"""Delivery of outbox rows over each channel kind, retries and dropping."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import hmac
import ipaddress
import socket
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import update

from mometrics_control.alerting.models import OutboxEntry
from mometrics_control.config import get_settings
from mometrics_control.jobs import tasks
from mometrics_control.notifications.delivery import DeliveryFailed, Outcome


async def down_outbox(world, channel_ids: list[uuid.UUID]) -> list[str]:  # type: ignore[no-untyped-def]
    monitor = await world.monitor(["eu"], channel_ids)
    await world.feed(monitor, "eu", "dd")
    return await world.evaluate(monitor)


async def test_webhook_signed_with_hmac(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url + "/hook", secret="s3cret")
    (outbox_id,) = await down_outbox(world, [channel])

    assert await tasks.deliver_notification(outbox_id) == Outcome.DELIVERED

    (request,) = receiver.requests
    timestamp = request.headers["X-Mometrics-Timestamp"]
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + request.body, hashlib.sha256)
    assert request.headers["X-Mometrics-Signature"] == "sha256=" + expected.hexdigest()
    assert request.headers["X-Mometrics-Delivery"] == outbox_id
    assert request.headers["Idempotency-Key"] == outbox_id
    assert request.json()["event"] == "down"


async def test_delivered_row_is_not_sent_again(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    (outbox_id,) = await down_outbox(world, [channel])

    first = await tasks.deliver_notification(outbox_id)
    second = await tasks.deliver_notification(outbox_id)

    assert (first, second) == (Outcome.DELIVERED, Outcome.SKIPPED)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("kind", "field", "expected"),
    [("slack", "text", str), ("discord", "content", str), ("teams", "@type", "MessageCard")],
    ids=["slack", "discord", "teams"],
)
async def test_chat_webhook_bodies(
    world, receiver, kind: str, field: str, expected: object
) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url, kind=kind)
    (outbox_id,) = await down_outbox(world, [channel])

    await tasks.deliver_notification(outbox_id)

    body = receiver.requests[0].json()
    assert receiver.requests[0].headers["Idempotency-Key"] == outbox_id
    assert field in body
    if isinstance(expected, str):
        assert body[field] == expected
    assert "is DOWN" in str(body.get("text") or body.get("content"))


async def test_pagerduty_trigger_and_resolve(world, receiver, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MOMETRICS_PAGERDUTY_EVENTS_URL", receiver.url)
    get_settings.cache_clear()
    channel = await world.channel("", kind="pagerduty", routing_key="R0UT1NG")
    monitor = await world.monitor(["eu"], [channel])
    await world.feed(monitor, "eu", "dd")
    await world.step(monitor)
    await world.feed(monitor, "eu", "u")
    await world.step(monitor)

    trigger, resolve = (r.json() for r in receiver.requests)
    assert {r.path for r in receiver.requests} == {"/v2/enqueue"}
    assert trigger["event_action"] == "trigger"
    assert trigger["routing_key"] == "R0UT1NG"
    assert trigger["payload"]["severity"] == "critical"
    assert resolve["event_action"] == "resolve"
    assert resolve["dedup_key"] == trigger["dedup_key"]


async def test_telegram_send_message(world, receiver, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MOMETRICS_TELEGRAM_API_URL", receiver.url)
    get_settings.cache_clear()
    channel = await world.channel("", kind="telegram", bot_token="123:abc", chat_id="-42")
    (outbox_id,) = await down_outbox(world, [channel])

    await tasks.deliver_notification(outbox_id)

    (request,) = receiver.requests
    assert request.path == "/bot123:abc/sendMessage"
    assert request.json()["chat_id"] == "-42"


async def test_server_error_retries_with_backoff(world, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.statuses = [503]
    channel = await world.channel(receiver.url)
    (outbox_id,) = await down_outbox(world, [channel])

    with pytest.raises(DeliveryFailed):
        await tasks.deliver_notification(outbox_id)
    (entry,) = await world.outbox()
    assert entry.delivered_at is None
    assert entry.attempts == 1
    assert entry.next_attempt_at > entry.created_at
    assert "503" in (entry.last_error or "")

    assert await tasks.deliver_notification(outbox_id) == Outcome.DELIVERED
    assert len(receiver.requests) == 2


async def test_client_error_drops_at_once(world, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.statuses = [404]
    channel = await world.channel(receiver.url)
    (outbox_id,) = await down_outbox(world, [channel])

    assert await tasks.deliver_notification(outbox_id) == Outcome.DROPPED
    (entry,) = await world.outbox()
    assert entry.dropped_at is not None


async def test_old_notification_dropped_unsent(world, receiver, caplog) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    (outbox_id,) = await down_outbox(world, [channel])
    async with world.sessions() as session:
        await session.execute(
            update(OutboxEntry).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=7))
        )
        await session.commit()

    assert await tasks.deliver_notification(outbox_id) == Outcome.DROPPED
    assert receiver.requests == []
    assert "notification dropped" in caplog.text


async def test_due_notifications_requeue_stuck_rows(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    (outbox_id,) = await down_outbox(world, [channel])
    assert await tasks.due_notifications() == []
    async with world.sessions() as session:
        await session.execute(
            update(OutboxEntry).values(
                created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
                next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
            )
        )
        await session.commit()

    assert await tasks.due_notifications() == [outbox_id]
    assert await tasks.due_notifications() == []


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server(tls_files: tuple[Path, Path]) -> Iterator[tuple[_Inbox, int]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    inbox = _Inbox()
    # aiosmtpd's readiness check connects to the configured port, so a free
    # port is chosen first instead of port 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    yield inbox, port
    controller.stop()


async def test_email_over_starttls(world, smtp_server, tls_files, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp_server
    for name, value in {
        "MOMETRICS_SMTP_HOST": "127.0.0.1",
        "MOMETRICS_SMTP_PORT": str(port),
        "MOMETRICS_SMTP_FROM": "alerts@example.org",
        "MOMETRICS_SMTP_CA_FILE": str(tls_files[0]),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    channel = await world.channel("", kind="email", to=["ops@example.org"])
    (outbox_id,) = await down_outbox(world, [channel])

    assert await tasks.deliver_notification(outbox_id) == Outcome.DELIVERED

    ((sender, recipients, content),) = inbox.messages
    assert sender == "alerts@example.org"
    assert recipients == ["ops@example.org"]
    assert b"is DOWN" in content
    message = email.message_from_bytes(content)
    assert message["Message-ID"] == f"<{outbox_id}@example.org>"
