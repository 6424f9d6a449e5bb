"""Sending one notification over one channel, per channel kind.

Webhook bodies are signed when the channel has a secret:
X-Mometrics-Signature is `sha256=` and the hex HMAC-SHA256, keyed with the
secret, of the X-Mometrics-Timestamp value (Unix seconds), a `.` and the raw
body. X-Mometrics-Delivery and Idempotency-Key carry the delivery id, which
stays the same across retries of one notification, so a receiver can drop a
repeat. Chat webhooks get the same two headers, and email carries the
delivery id in its Message-ID.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

import aiohttp

from mometrics_control.config import Settings
from mometrics_control.notifications.messages import subject


class SendError(Exception):
    """A send failed; `is_permanent` means retrying cannot help."""

    def __init__(self, message: str, is_permanent: bool = False) -> None:
        super().__init__(message)
        self.is_permanent = is_permanent


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


async def _post_json(
    settings: Settings, url: str, document: Any, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(document, separators=(",", ":")).encode()
    await _post_bytes(settings, url, body, headers or {})


def delivery_headers(delivery_id: str) -> dict[str, str]:
    """Return the headers that let a receiver recognise a repeated delivery."""
    return {"X-Mometrics-Delivery": delivery_id, "Idempotency-Key": delivery_id}


async def _post_bytes(settings: Settings, url: str, body: bytes, headers: dict[str, str]) -> None:
    all_headers = {"Content-Type": "application/json", **headers}
    timeout = aiohttp.ClientTimeout(total=settings.notification_timeout_s)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as client,
            client.post(url, data=body, headers=all_headers) as response,
        ):
            if response.status < 300:
                return
            text = (await response.text())[:300]
    except (aiohttp.ClientError, TimeoutError) as err:
        raise SendError(f"POST failed: {err!r}") from err
    # 408 and 429 are worth a retry, like server errors; other 4xx are not.
    is_permanent = 400 <= response.status < 500 and response.status not in (408, 429)
    raise SendError(f"POST returned HTTP {response.status}: {text}", is_permanent)


async def send(
    settings: Settings,
    kind: str,
    config: dict[str, Any],
    payload: dict[str, Any],
    delivery_id: str,
) -> None:
    """Send `payload` over a channel, raising SendError on failure."""
    text = str(payload["summary"])
    headers = delivery_headers(delivery_id)
    if kind == "webhook":
        body = json.dumps(payload, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers["X-Mometrics-Timestamp"] = timestamp
        if config.get("secret"):
            headers["X-Mometrics-Signature"] = sign(config["secret"], timestamp, body)
        await _post_bytes(settings, config["url"], body, headers)
    elif kind == "slack":
        await _post_json(settings, config["url"], {"text": text}, headers)
    elif kind == "discord":
        await _post_json(settings, config["url"], {"content": text[:2000]}, headers)
    elif kind == "teams":
        card = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": subject(payload),
            "title": subject(payload),
            "text": text,
        }
        await _post_json(settings, config["url"], card, headers)
    elif kind == "pagerduty":
        url = settings.pagerduty_events_url.rstrip("/") + "/v2/enqueue"
        await _post_json(settings, url, _pagerduty_event(config, payload))
    elif kind == "telegram":
        url = f"{settings.telegram_api_url.rstrip('/')}/bot{config['bot_token']}/sendMessage"
        await _post_json(settings, url, {"chat_id": config["chat_id"], "text": text[:4000]})
    elif kind == "email":
        await asyncio.to_thread(_send_email, settings, config["to"], payload, delivery_id)
    else:
        raise SendError(f"unknown channel kind {kind!r}", is_permanent=True)


def _pagerduty_event(config: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    incident = payload.get("incident") or {}
    monitor = payload.get("monitor") or {}
    # One PagerDuty alert per incident: later triggers with the same key
    # update it, and the resolve closes it.
    dedup_key = f"mometrics-{incident.get('id') or monitor.get('id') or payload['at']}"
    action = "resolve" if payload["event"] == "up" else "trigger"
    event: dict[str, Any] = {
        "routing_key": config["routing_key"],
        "event_action": action,
        "dedup_key": dedup_key,
    }
    if action == "trigger":
        event["payload"] = {
            "summary": str(payload["summary"])[:1024],
            "source": monitor.get("target") or "mometrics",
            "severity": "warning" if payload["event"] == "flapping" else "critical",
            "timestamp": payload["at"],
            "custom_details": {"regions": payload.get("regions", [])},
        }
    return event


def message_id(delivery_id: str, sender: str) -> str:
    """Return a Message-ID that is the same for every retry of one delivery."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "mometrics.invalid"
    return f"<{delivery_id}@{domain}>"


def _send_email(
    settings: Settings, recipients: list[str], payload: dict[str, Any], delivery_id: str
) -> None:
    if not settings.smtp_host:
        raise SendError("MOMETRICS_SMTP_HOST is empty; set it to send email", is_permanent=True)
    message = EmailMessage()
    message["Message-ID"] = message_id(delivery_id, settings.smtp_from)
    message["Subject"] = subject(payload)
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message.set_content(str(payload["summary"]) + "\n\n" + json.dumps(payload, indent=2))
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.notification_timeout_s
        ) as client:
            if settings.smtp_starttls:
                context = ssl.create_default_context(cafile=settings.smtp_ca_file or None)
                client.starttls(context=context)
            if settings.smtp_username:
                client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as err:
        raise SendError(f"SMTP server rejected the recipients: {err}", is_permanent=True) from err
    except (smtplib.SMTPException, OSError) as err:
        raise SendError(f"SMTP send failed: {err!r}") from err
