"""Every email the service sends is begun here: its headers and its text and HTML parts, written one way.

Headers hold one line each (a title with a line break cannot split a header), the Message-ID is random
under the service's domain, and the text and HTML go quoted-printable, so a relay without 8BITMIME never
has to re-encode them. `imip` adds an invitation's calendar parts to such a message.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

_HEADER_BREAK = re.compile(r"[\r\n]")


def one_line(value: str) -> str:
    return _HEADER_BREAK.sub(" ", value).strip()


def message_id(domain: str) -> str:
    # Random rather than email.utils.make_msgid: that one reads the clock and the host name.
    return f"<{uuid.uuid4().hex}@{one_line(domain)}>"


def new_message(*, subject: str, sender: str, text: str, html: str | None = None, sender_name: str = "",
                recipient: str = "", recipient_name: str = "", message_id_domain: str | None = None,
                date: datetime | None = None) -> EmailMessage:
    """A message of `text` (and `html` as its alternative). Without `recipient` it has no To, and without
    `message_id_domain` no Message-ID: a message sent to many gets those per copy. `date` must be aware."""
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = " ".join(subject.split())
    message["From"] = Address(one_line(sender_name), addr_spec=sender)
    if recipient:
        message["To"] = Address(one_line(recipient_name), addr_spec=recipient)
    if message_id_domain is not None:
        message["Message-ID"] = message_id(message_id_domain)
    if date is not None:
        if date.tzinfo is None:
            raise ValueError("date must be an aware datetime")
        message["Date"] = format_datetime(date)
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message
