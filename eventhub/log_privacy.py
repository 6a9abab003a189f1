"""Personal links and client addresses never reach a log: every log record that mentions `/ask/<token>` is
rewritten with the token removed, whoever logs it (our code, Werkzeug, gunicorn, RQ), and access logs
(Werkzeug's, gunicorn's) lose every IP address, so no request can be matched to an ask request by its
address and time."""

from __future__ import annotations

import logging
import re

_ASK_PATH = re.compile(r"/ask/[^/\s\"'?#]+")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
# Colon groups that are an IPv6 address ("::" or eight groups), not a clock time such as 22:42:40.
_IPV6_LIKE = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,8}[0-9a-fA-F]{0,4}(?![\w:])")
# A request line with its status, as both access logs write it: `"GET /path HTTP/1.1" 200`.
_ACCESS_LINE = re.compile(r'"[A-Z]+ \S* HTTP/[0-9.]+" \d{3}')
# Werkzeug colours a request line by its status (a 304 cyan, a 404 yellow): matched with the colours taken out.
_COLOURS = re.compile(r"\x1b\[[0-9;]*m")
_installed = False


ACCESS_LOGGERS = frozenset({"werkzeug", "gunicorn.access"})


def redact(message: str, access_log: bool = False) -> str:
    """The message with personal links blanked; with IP addresses blanked too if it mentions a personal
    link or is an access-log line."""
    if "/ask/" in message:
        message = _ASK_PATH.sub("/ask/[link]", message)
    elif not access_log:
        return message
    message = _IPV4.sub("[ip]", message)
    return _IPV6_LIKE.sub(lambda m: "[ip]" if "::" in m[0] or m[0].count(":") >= 7 else m[0], message)


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
        access_log = record.name in ACCESS_LOGGERS and _ACCESS_LINE.search(_COLOURS.sub("", message)) is not None
        if "/ask/" in message or access_log:
            record.msg, record.args = redact(message, access_log), ()
        return record

    logging.setLogRecordFactory(private_record)
    _installed = True
