"""Outgoing mail: an SMTP server when `SMTP_HOST` is set, else `.eml` files in `instance/outbox/`.

Callers open one `session()` for a batch and send many messages over it.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import uuid
from collections.abc import Iterable, Iterator
from email.message import EmailMessage
from pathlib import Path

from flask import current_app


class MailError(Exception):
    """Sending failed. `permanent` is True when retrying cannot help (a 5xx answer for that address)."""

    def __init__(self, message: str, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


class RecipientRefused(MailError):
    """The server refused this recipient (the connection is still good for others)."""


class SmtpSender:
    def __init__(self, client: smtplib.SMTP):
        self.client = client

    def send(self, message: EmailMessage, recipients: Iterable[str]) -> None:
        try:
            refused = self.client.send_message(message, to_addrs=list(recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            raise _classify(exc.recipients) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise MailError(f"the mail server closed the connection: {exc}", permanent=False) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # the server is going away: nothing more goes over this connection
                raise MailError(f"421 {exc.smtp_error!r}", permanent=False) from exc
            # The server refused this one message (after RCPT): it can take the next one.
            raise RecipientRefused(f"{exc.smtp_code} {exc.smtp_error!r}"[:400],
                                   permanent=exc.smtp_code >= 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(str(exc) or type(exc).__name__, permanent=False) from exc
        if refused:
            raise _classify(refused)


def _classify(refused: dict) -> RecipientRefused:
    codes = [code for code, _ in refused.values()]
    text = "; ".join(f"{address}: {code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
                     for address, (code, reply) in refused.items())
    return RecipientRefused(f"refused {text}"[:400], permanent=all(code >= 500 for code in codes))


class OutboxSender:
    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, message: EmailMessage, recipients: Iterable[str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.eml"
        # Written under a temporary name and renamed, so a reader never sees half a message.
        partial = self.folder / f".{name}.part"
        envelope = ", ".join(recipients).encode()
        partial.write_bytes(b"X-Envelope-To: " + envelope + b"\r\n" + message.as_bytes())
        partial.rename(self.folder / name)


class MailGateway:
    def __init__(self, settings: dict, instance_path: str):
        self.settings = settings
        self.outbox = Path(instance_path, "outbox")

    @property
    def uses_smtp(self) -> bool:
        return bool(self.settings.get("SMTP_HOST"))

    @contextlib.contextmanager
    def session(self) -> Iterator[SmtpSender | OutboxSender]:
        """One connection for a batch of messages."""
        if not self.uses_smtp:
            yield OutboxSender(self.outbox)
            return
        settings = self.settings
        try:
            client = smtplib.SMTP(settings["SMTP_HOST"], int(settings["SMTP_PORT"]), timeout=30)
            if settings.get("SMTP_STARTTLS"):
                client.starttls(context=ssl.create_default_context())
            if settings.get("SMTP_USER"):
                client.login(settings["SMTP_USER"], settings.get("SMTP_PASSWORD") or "")
        except smtplib.SMTPResponseException as exc:
            raise MailError(f"{exc.smtp_code} {exc.smtp_error!r}", permanent=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"cannot reach the mail server: {exc}", permanent=False) from exc
        try:
            yield SmtpSender(client)
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()


def mail_gateway() -> MailGateway:
    """The gateway for the current app's settings."""
    return MailGateway(current_app.config, current_app.instance_path)


def new_message(subject: str, to: str, text: str, html: str | None = None) -> EmailMessage:
    """A plain-text message with an optional HTML alternative, from `MAIL_FROM`."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message
