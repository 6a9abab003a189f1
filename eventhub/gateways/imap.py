"""The organizer's mailbox over IMAP (imapclient): the only module that talks IMAP.

Mail is read with BODY.PEEK[], so reading it never marks it as seen for a person who also reads that
mailbox. What the service has handled is flagged with the keyword `$EventHubHandled` (or `\\Seen` where
the server keeps no keywords) and is not offered again.
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl
from collections.abc import Iterator

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

HANDLED_KEYWORD = b"$EventHubHandled"
SEEN = b"\\Seen"
IMAP_TIMEOUT_SECONDS = 30
_FETCH_BATCH = 100  # messages per FETCH or STORE round trip


class MailboxError(Exception):
    """The mailbox cannot be reached or refused us; the next poll tries again."""


class MailboxSession:
    """One connection to the folder, selected read-write."""

    def __init__(self, client: IMAPClient, flag: bytes):
        self.client = client
        self.flag = flag

    def unhandled(self) -> dict[int, bytes]:
        """The IMAP UIDs of mail not yet flagged as handled, each with its raw Message-ID header (b"" if none)."""
        with _mailbox_errors():
            criteria = ["NOT", "KEYWORD", self.flag] if self.flag != SEEN else ["UNSEEN"]
            uids = sorted(self.client.search(criteria))
            found: dict[int, bytes] = {}
            for start in range(0, len(uids), _FETCH_BATCH):
                batch = uids[start:start + _FETCH_BATCH]
                answer = self.client.fetch(batch, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
                for uid, data in answer.items():
                    header = data.get(b"BODY[HEADER.FIELDS (MESSAGE-ID)]", b"") or b""
                    found[uid] = header.split(b":", 1)[1].strip() if b":" in header else b""
            return found

    def raw_messages(self, uids: list[int]) -> dict[int, bytes]:
        """The whole messages by UID (one round trip); a message deleted meanwhile is absent."""
        if not uids:
            return {}
        with _mailbox_errors():
            answer = self.client.fetch(uids, ["BODY.PEEK[]"])
        return {uid: data[b"BODY[]"] for uid, data in answer.items() if data.get(b"BODY[]") is not None}

    def mark_handled(self, uids: list[int]) -> None:
        if not uids:
            return
        with _mailbox_errors():
            self.client.add_flags(uids, [self.flag], silent=True)


class ImapMailbox:
    def __init__(self, host: str, port: int, user: str | None, password: str | None, tls: str, folder: str):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.tls, self.folder = tls, folder

    @classmethod
    def from_settings(cls, settings: dict) -> ImapMailbox | None:
        """The mailbox of IMAP_HOST and friends; None when IMAP_HOST is unset."""
        if not settings.get("IMAP_HOST"):
            return None
        return cls(settings["IMAP_HOST"], int(settings.get("IMAP_PORT") or 993), settings.get("IMAP_USER"),
                   settings.get("IMAP_PASSWORD"), settings.get("IMAP_TLS") or "ssl",
                   settings.get("IMAP_FOLDER") or "INBOX")

    @contextlib.contextmanager
    def session(self) -> Iterator[MailboxSession]:
        """Connected, signed in and with the folder selected; logged out afterwards."""
        with _mailbox_errors():
            context = ssl.create_default_context()
            client = IMAPClient(self.host, port=self.port, ssl=self.tls == "ssl", ssl_context=context,
                                timeout=IMAP_TIMEOUT_SECONDS)
        try:
            with _mailbox_errors():
                if self.tls == "starttls":
                    client.starttls(context)
                if self.user:
                    client.login(self.user, self.password or "")
                selected = client.select_folder(self.folder)
            permanent = selected.get(b"PERMANENTFLAGS", ())
            yield MailboxSession(client, HANDLED_KEYWORD if b"\\*" in permanent else SEEN)
        finally:
            with contextlib.suppress(IMAPClientError, imaplib.IMAP4.error, OSError):
                client.logout()


@contextlib.contextmanager
def _mailbox_errors() -> Iterator[None]:
    try:
        yield
    except (IMAPClientError, imaplib.IMAP4.error, OSError) as error:
        raise MailboxError(f"IMAP: {error}") from error
