"""Outgoing mail: an SMTP server when `SMTP_HOST` is set, else `.eml` files in `instance/outbox/`.

Callers open one `session()` for a batch and send many messages over it. A message that goes to many
people unchanged but for its To and Message-ID is wrapped in a `MessageForMany`, serialized once, and
each copy is sent with `send_copy`. A copy its caller already serialized (a `PreparedCopy`) is sent as
it is with `send_prepared`.
"""

from __future__ import annotations

import contextlib
import copy
import re
import smtplib
import ssl
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from pathlib import Path

from flask import current_app

from eventhub.domain import messages

# Each SMTP step may take this long; a whole send (MAIL, RCPT, DATA, the end of data) stays well inside a
# fan-out's lease (FAN_OUT_LEASE_SECONDS, renewed before every send).
SMTP_STEP_TIMEOUT = 10


class MailError(Exception):
    """Sending failed. `permanent` is True when retrying cannot help (a 5xx answer for that address)."""

    def __init__(self, message: str, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


class RecipientRefused(MailError):
    """The server refused this recipient (the connection is still good for others)."""


# An address that needs no quoting or encoding in a header, so it is written as is (the email package's
# address parser costs more than sending the copy); anything else goes through that parser.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


class MessageForMany:
    """One message for many recipients, serialized once: each copy differs only in its To and Message-ID.

    `copy_for(address)` is the copy's bytes as `send_message` would send them (CRLF line ends, no Bcc):
    that copy's To and Message-ID headers, then the rest of the message serialized once here.
    """

    def __init__(self, message: EmailMessage, message_id_domain: str | None):
        self.template = copy.deepcopy(message)
        for name in ("To", "Message-ID", "Bcc", "Resent-Bcc"):
            del self.template[name]
        self.message_id_domain = message_id_domain
        self.sender = getaddresses([self.template["Sender"] or self.template["From"]])[0][1]
        self.policy = self.template.policy.clone(linesep="\r\n")
        self.rest = self.template.as_bytes(policy=self.policy)

    def copy_for(self, address: str) -> bytes:
        """The bytes of the copy for `address`, with a Message-ID of its own."""
        return (self._header("To", address) + self._header("Message-ID", make_msgid(domain=self.message_id_domain))
                + self.rest)

    def message_for(self, address: str) -> EmailMessage:
        """The copy for `address` as a message object (for the paths that need one)."""
        message = copy.deepcopy(self.template)
        message["To"] = address
        message["Message-ID"] = make_msgid(domain=self.message_id_domain)
        return message

    def _header(self, name: str, value: str) -> bytes:
        if name == "Message-ID" or _PLAIN_ADDRESS.fullmatch(value):  # make_msgid's ids are plain ASCII
            return f"{name}: {value}\r\n".encode("ascii")
        return self.policy.fold_binary(*self.policy.header_store_parse(name, value))


@dataclass(frozen=True)
class PreparedCopy:
    """One recipient's message, already serialized as `send_message` would send it (CRLF line ends, no Bcc),
    and how to build it as a message object for a path that cannot send those bytes as they are."""

    sender: str
    data: bytes
    message: Callable[[], EmailMessage]


class SmtpSender:
    def __init__(self, client: smtplib.SMTP):
        self.client = client

    def send(self, message: EmailMessage, recipients: Iterable[str]) -> None:
        with _classified_errors():
            refused = self.client.send_message(message, to_addrs=list(recipients))
        if refused:
            raise _classify(refused)

    def send_copy(self, message: MessageForMany, recipient: str) -> None:
        """Send `recipient` their copy of `message`, serialized once for everyone."""
        if not (message.sender + recipient).isascii():  # needs SMTPUTF8, which send_message negotiates
            self.send(message.message_for(recipient), [recipient])
            return
        with _classified_errors():
            refused = self.client.sendmail(message.sender, [recipient], message.copy_for(recipient))
        if refused:
            raise _classify(refused)

    def send_prepared(self, copy: PreparedCopy, recipient: str) -> None:
        """Send `recipient` the bytes `copy` holds."""
        if not (copy.sender + recipient).isascii():  # needs SMTPUTF8, which send_message negotiates
            self.send(copy.message(), [recipient])
            return
        with _classified_errors():
            refused = self.client.sendmail(copy.sender, [recipient], copy.data)
        if refused:
            raise _classify(refused)


@contextlib.contextmanager
def _classified_errors() -> Iterator[None]:
    """SMTP errors as MailError: RecipientRefused when the connection is still good for other messages."""
    try:
        yield
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


def _classify(refused: dict) -> RecipientRefused:
    codes = [code for code, _ in refused.values()]
    text = "; ".join(f"{address}: {code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
                     for address, (code, reply) in refused.items())
    return RecipientRefused(f"refused {text}"[:400], permanent=all(code >= 500 for code in codes))


class OutboxSender:
    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, message: EmailMessage, recipients: Iterable[str]) -> None:
        self._write(recipients, message.as_bytes())

    def send_copy(self, message: MessageForMany, recipient: str) -> None:
        """Write `recipient`'s copy of `message`, serialized once for everyone."""
        self._write([recipient], message.copy_for(recipient))

    def send_prepared(self, copy: PreparedCopy, recipient: str) -> None:
        self._write([recipient], copy.data)

    def _write(self, recipients: Iterable[str], raw: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.eml"
        # Written under a temporary name and renamed, so a reader never sees half a message.
        partial = self.folder / f".{name}.part"
        envelope = ", ".join(recipients).encode()
        partial.write_bytes(b"X-Envelope-To: " + envelope + b"\r\n" + raw)
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
            client = smtplib.SMTP(settings["SMTP_HOST"], int(settings["SMTP_PORT"]), timeout=SMTP_STEP_TIMEOUT)
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
    """A message from `MAIL_FROM` of `text` (and `html` as its alternative), dated now; `to` "" leaves the To
    to each copy (`MessageForMany`). Built as every email is (`domain.messages`)."""
    return messages.new_message(subject=subject, sender=current_app.config["MAIL_FROM"], recipient=to, text=text,
                                html=html, date=datetime.now(UTC))
