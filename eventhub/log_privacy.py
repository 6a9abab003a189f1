"""Personal links never reach a log: every log record that mentions `/ask/<token>` is rewritten with the
token and any IP address removed, whoever logs it (our code, Werkzeug's or gunicorn's access log, RQ)."""

from __future__ import annotations

import logging
import re

_ASK_PATH = re.compile(r"/ask/[^/\s\"'?#]+")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
# Colon groups that are an IPv6 address ("::" or eight groups), not a clock time such as 22:42:40.
_IPV6_LIKE = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])")
_installed = False


def redact(message: str) -> str:
    """The message with personal links and IP addresses blanked, if it mentions a personal link."""
    if "/ask/" not in message:
        return message
    message = _IPV4.sub("[ip]", _ASK_PATH.sub("/ask/[link]", message))
    return _IPV6_LIKE.sub(lambda m: "[ip]" if "::" in m[0] or m[0].count(":") == 7 else m[0], message)


def install() -> None:
    """Make every log record of this process pass through `redact` (once per process)."""
    global _installed
    if _installed:
        return
    original = logging.getLogRecordFactory()

    def private_record(*args, **kwargs) -> logging.LogRecord:
        record = original(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's own problem; leave it as it is
            return record
        if "/ask/" in message:
            record.msg, record.args = redact(message), ()
        return record

    logging.setLogRecordFactory(private_record)
    _installed = True
