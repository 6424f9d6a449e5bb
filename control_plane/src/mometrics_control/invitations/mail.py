"""Invitation emails, sent by the worker with retries.

The job message carries the invitation id and the token encrypted with
Fernet under a key derived from the JWT signing keys, because Dramatiq
writes message arguments to Redis and to its log when a job fails. The
token itself is never stored or logged.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import enum
import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mometrics_control.auth.tokens import hash_secret, signing_keys
from mometrics_control.config import Settings
from mometrics_control.invitations.models import Invitation
from mometrics_control.models import Organization, User

log = logging.getLogger("mometrics.invitations")

# Failed sends after which the invitation email is given up. The actor
# allows more retries than this, so this limit applies first.
MAX_EMAIL_ATTEMPTS = 10
ACCEPT_PATH = "/invitations/accept"


class Outcome(enum.StrEnum):
    SENT = "sent"
    # Sent already, or the invitation is no longer pending.
    SKIPPED = "skipped"
    DROPPED = "dropped"


class EmailFailed(Exception):
    """Sending failed and will be retried."""


class _SendError(Exception):
    def __init__(self, message: str, is_permanent: bool = False) -> None:
        super().__init__(message)
        self.is_permanent = is_permanent


def is_email_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host and settings.public_url)


def accept_url(base_url: str, token: str) -> str:
    # The token goes in the fragment, which browsers never send to a server,
    # so it stays out of proxy and access logs. The dashboard's page at this
    # path reads it from there.
    return f"{base_url.rstrip('/')}{ACCEPT_PATH}#token={token}"


def _fernet(settings: Settings) -> MultiFernet:
    keys = []
    for secret in signing_keys(settings).values():
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"mometrics invitation email"
        ).derive(secret.encode())
        keys.append(Fernet(base64.urlsafe_b64encode(derived)))
    # The first key encrypts, as it signs access tokens, and every key decrypts.
    return MultiFernet(keys)


def encrypt_token(settings: Settings, token: str) -> str:
    return _fernet(settings).encrypt(token.encode()).decode()


def decrypt_token(settings: Settings, encrypted: str) -> str:
    """Return the token, or raise InvalidToken when the keys changed or it is too old."""
    return _fernet(settings).decrypt(encrypted.encode(), ttl=settings.invitation_ttl_s).decode()


def build_message(
    settings: Settings,
    invitation: Invitation,
    organization_name: str,
    inviter_email: str | None,
    token: str,
) -> EmailMessage:
    inviter = inviter_email or "An administrator"
    expires = invitation.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    message = EmailMessage()
    message["Subject"] = f"You are invited to join {organization_name} on Mometrics"
    message["From"] = settings.smtp_from
    message["To"] = invitation.email
    message.set_content(
        f"{inviter} invited you to join the organisation {organization_name!r} on "
        f"Mometrics with the role {invitation.role}.\n\n"
        f"Accept the invitation: {accept_url(settings.public_url, token)}\n\n"
        f"The link works once, until {expires}. Accept it while logged in as "
        f"{invitation.email}, or create an account with that address.\n\n"
        "If you did not expect this invitation, ignore this email.\n"
    )
    return message


def _send(settings: Settings, message: EmailMessage) -> None:
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
        raise _SendError(f"SMTP server rejected the recipient: {err}", is_permanent=True) from err
    except (smtplib.SMTPException, OSError) as err:
        raise _SendError(f"SMTP send failed: {err!r}") from err


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    invitation_id: uuid.UUID,
    encrypted_token: str,
) -> Outcome:
    """Send the invitation email unless it went out already or the invitation is closed.

    Raises EmailFailed when a retry may help, so the actor tries again.
    """
    now = dt.datetime.now(dt.UTC)
    ids = {"invitation_id": str(invitation_id)}
    async with sessionmaker() as session:
        invitation = await session.get(Invitation, invitation_id, with_for_update=True)
        if invitation is None or not _is_unsent_and_pending(invitation, now):
            await session.rollback()
            log.info("invitation email skipped", extra=ids)
            return Outcome.SKIPPED
        try:
            token = decrypt_token(settings, encrypted_token)
        except InvalidToken:
            token = ""
        if hash_secret(token) != invitation.token_hash:
            invitation.email_error = (
                "cannot read the token in the job message: the JWT signing keys "
                "changed since the invitation was created; invite again"
            )
            await session.commit()
            log.error("invitation email dropped", extra={**ids, "error": invitation.email_error})
            return Outcome.DROPPED
        invitation.email_attempts += 1
        attempt = invitation.email_attempts
        organization = await session.get(Organization, invitation.organization_id)
        inviter = await session.get(User, invitation.invited_by) if invitation.invited_by else None
        assert organization is not None  # the invitation's foreign key guarantees it
        message = build_message(
            settings, invitation, organization.name, inviter.email if inviter else None, token
        )
        await session.commit()

    try:
        await asyncio.to_thread(_send, settings, message)
    except _SendError as err:
        return await _record_failure(sessionmaker, invitation_id, attempt, err)

    async with sessionmaker() as session:
        stored = await session.get(Invitation, invitation_id, with_for_update=True)
        if stored is not None:
            stored.email_sent_at = dt.datetime.now(dt.UTC)
            stored.email_error = None
            await session.commit()
    log.info("invitation email sent", extra={**ids, "attempt": attempt})
    return Outcome.SENT


def _is_unsent_and_pending(invitation: Invitation, now: dt.datetime) -> bool:
    return (
        invitation.email_sent_at is None
        and invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > now
    )


async def _record_failure(
    sessionmaker: async_sessionmaker[AsyncSession],
    invitation_id: uuid.UUID,
    attempt: int,
    err: _SendError,
) -> Outcome:
    async with sessionmaker() as session:
        stored = await session.get(Invitation, invitation_id, with_for_update=True)
        if stored is not None:
            stored.email_error = str(err)[:1000]
            await session.commit()
    fields = {"invitation_id": str(invitation_id), "attempt": attempt, "error": str(err)}
    if err.is_permanent or attempt >= MAX_EMAIL_ATTEMPTS:
        log.error("invitation email dropped", extra=fields)
        return Outcome.DROPPED
    log.warning("invitation email failed; will retry", extra=fields)
    raise EmailFailed(str(err))


async def enqueue(settings: Settings, invitation_id: uuid.UUID, token: str) -> bool:
    """Hand the email to the worker; return False when the job could not be queued."""
    from mometrics_control.jobs import actors

    encrypted = encrypt_token(settings, token)
    try:
        await asyncio.to_thread(actors.send_invitation_email.send, str(invitation_id), encrypted)
    except Exception as err:  # noqa: BLE001 - the caller falls back to returning the link
        log.warning(
            "could not queue the invitation email",
            extra={"invitation_id": str(invitation_id), "error": repr(err)},
        )
        return False
    return True
