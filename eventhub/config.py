"""Settings from the environment (and a `.env` file), read when the app is created.

Names and defaults are the public contract: see the README's configuration table.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dotenv import dotenv_values

DEFAULTS = {
    "DATABASE_URL": None,  # filled in from the instance folder
    "REDIS_URL": None,
    "SMTP_HOST": None,
    "SMTP_PORT": 25,
    "SMTP_USER": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": False,
    "MAIL_FROM": "eventhub@localhost",
    "EVENTHUB_BASE_URL": "http://127.0.0.1:5000",
    "SECRET_KEY": None,
    "GOOGLE_SERVICE_ACCOUNT_FILE": None,
    "GOOGLE_CALENDAR_ID": None,
    "GOOGLE_API_ENDPOINT": None,
    # The mailbox that receives MAIL_FROM's mail, read for attendees' answers (iMIP REPLY, COUNTER, REFRESH).
    "IMAP_HOST": None,
    "IMAP_PORT": 993,
    "IMAP_USER": None,
    "IMAP_PASSWORD": None,
    "IMAP_TLS": "ssl",  # ssl | starttls | none
    "IMAP_FOLDER": "INBOX",
    "IMAP_POLL_SECONDS": 60,
    "FLASK_DEBUG": False,
    "RQ_QUEUE": "eventhub",
    # Largest request body the service reads (10,000 attendees fit well inside).
    "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    # How long the hold on a mailing of a worker that stopped renewing it lasts (seconds); a holder known
    # dead (a crashed process of this host) frees it at once.
    "FAN_OUT_LEASE_SECONDS": 15,
    # Seconds between retries of a summary whose mail server refuses or is down (comma-separated).
    "SUMMARY_RETRY_INTERVALS": "10,30,60,120,300,600,1800,3600",
    # The same for invitations, updates and cancellations.
    "INVITE_RETRY_INTERVALS": "10,30,60,120,300,600",
    # Slices a mailing is cut into when jobs run on Redis, each its own job: up to that many workers send it
    # at once. 1 sends every mailing as one job.
    "MAILING_SHARDS": 8,
    # SMTP connections one worker holds at once for a mailing: against a slow relay, N send N times as fast.
    "SMTP_CONNECTIONS": 1,
    # Seconds between sweeps of the outbox (by `worker.py`, or the web process in the embedded default).
    "OUTBOX_SWEEP_SECONDS": 2,
    # Reverse proxies in front of the service whose X-Forwarded-For is trusted (sign-in throttling is per client).
    "PROXY_HOPS": 0,
    # How long a form's CSRF token stays valid (seconds).
    "CSRF_TOKEN_SECONDS": 3600,
    # Live board streams (Server-Sent Events) one web process holds open at once; each holds one thread.
    "BOARD_STREAMS_PER_PROCESS": 4,
    # Seconds a live board stream stays open before the browser reconnects (freeing its thread meanwhile).
    "BOARD_STREAM_SECONDS": 55,
}

_BOOLEANS = {"SMTP_STARTTLS", "FLASK_DEBUG", "TESTING"}
_INTEGERS = {"SMTP_PORT", "MAX_CONTENT_LENGTH", "FAN_OUT_LEASE_SECONDS", "MAILING_SHARDS", "SMTP_CONNECTIONS",
             "IMAP_PORT", "IMAP_POLL_SECONDS", "PROXY_HOPS", "CSRF_TOKEN_SECONDS", "BOARD_STREAMS_PER_PROCESS",
             "BOARD_STREAM_SECONDS"}
IMAP_TLS_CHOICES = ("ssl", "starttls", "none")
MAX_SMTP_CONNECTIONS = 32


class ConfigError(RuntimeError):
    """The configuration cannot run safely (e.g. no secret key in production)."""


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def load_settings(instance_path: str, overrides: dict | None = None, env_file: str = ".env") -> dict:
    """Merge defaults, the `.env` file, the process environment and explicit overrides, in that order."""
    merged: dict = dict(DEFAULTS)
    file_values = dotenv_values(env_file) if env_file and os.path.exists(env_file) else {}
    for source in (file_values, os.environ):
        for key in DEFAULTS:
            if source.get(key) not in (None, ""):
                merged[key] = source[key]
    merged.update(overrides or {})

    for key in _BOOLEANS & merged.keys():
        merged[key] = _as_bool(merged[key])
    for key in _INTEGERS:
        try:
            merged[key] = int(merged[key])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{key} must be a whole number, not {merged[key]!r}") from exc

    merged["IMAP_TLS"] = str(merged["IMAP_TLS"]).strip().lower()
    if merged["IMAP_TLS"] not in IMAP_TLS_CHOICES:
        raise ConfigError(f"IMAP_TLS must be one of {', '.join(IMAP_TLS_CHOICES)}, not {merged['IMAP_TLS']!r}")
    if merged["IMAP_POLL_SECONDS"] < 1:
        raise ConfigError("IMAP_POLL_SECONDS must be at least 1")
    if not 1 <= merged["SMTP_CONNECTIONS"] <= MAX_SMTP_CONNECTIONS:
        raise ConfigError(f"SMTP_CONNECTIONS must be 1 to {MAX_SMTP_CONNECTIONS}")

    for key in ("SUMMARY_RETRY_INTERVALS", "INVITE_RETRY_INTERVALS"):
        intervals = merged[key]
        if isinstance(intervals, str):
            try:
                merged[key] = tuple(int(part) for part in intervals.split(",") if part.strip())
            except ValueError as exc:
                raise ConfigError(f"{key} must be seconds separated by commas: {intervals!r}") from exc
    try:
        merged["OUTBOX_SWEEP_SECONDS"] = float(merged["OUTBOX_SWEEP_SECONDS"])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"OUTBOX_SWEEP_SECONDS must be a number, not {merged['OUTBOX_SWEEP_SECONDS']!r}") from exc

    if not merged["DATABASE_URL"]:
        merged["DATABASE_URL"] = "sqlite:///" + str(Path(instance_path, "eventhub.db").resolve())
    merged["EVENTHUB_BASE_URL"] = str(merged["EVENTHUB_BASE_URL"]).rstrip("/")
    if not merged["SECRET_KEY"]:
        merged["SECRET_KEY"] = _instance_secret(merged, instance_path)
    return merged


def _instance_secret(settings: dict, instance_path: str) -> str:
    """The secret key kept in the instance folder; only the embedded default may make one up."""
    embedded = str(settings["DATABASE_URL"]).startswith("sqlite")
    if not (embedded or settings["FLASK_DEBUG"] or settings.get("TESTING")):
        raise ConfigError("SECRET_KEY must be set when FLASK_DEBUG is off and the database is not SQLite")
    path = Path(instance_path, "secret_key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Written with 0600 so other local users cannot read it.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip()
