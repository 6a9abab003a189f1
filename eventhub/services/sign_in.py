"""Password sign-in for organizers: throttled per client and per account, equally slow for an unknown
address and a wrong password, and sessions that end everywhere at sign-out.

Throttling counts failed attempts in fixed 15-minute windows (`rate_limit`: Redis when REDIS_URL is set,
so every gunicorn process shares the counts; else this process's memory):
- per client (its IP address, under a keyed pseudonym): after CLIENT_FAILURES failures every attempt from
  it answers 429 until the window ends, without the password being checked;
- per account (the address typed, under a keyed pseudonym, known or not): after ACCOUNT_FAILURES failures
  from all clients together, only browsers that have signed in to that account before (a signed
  known-browser cookie) may still try. An attacker spreading guesses over many addresses then stops, and
  the owner still signs in from a browser they used before; a single attacker is stopped by the client
  limit long before the account limit, so they cannot lock the owner out from anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from eventhub.extensions import db
from eventhub.models import Organizer
from eventhub.services.organizers import find_by_email
from eventhub.services.rate_limit import limiter

CLIENT_FAILURES = 5
ACCOUNT_FAILURES = 20
WINDOW_SECONDS = 15 * 60


class SignInThrottled(Exception):
    """Too many failed sign-ins from this client or for this account (429)."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


def _pseudonym(kind: str, value: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"sign-in:{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def _account(email: str) -> str:
    return "login-account:" + _pseudonym("account", (email or "").strip().lower())


def _client(address: str | None) -> str:
    return "login-client:" + _pseudonym("client", address or "unknown")


@cache
def _stand_in_hash() -> str:
    """A hash of a password nobody knows, made the same way as real ones: an unknown address costs the same
    check as a wrong password, so the time taken does not say whether the address has an account."""
    return generate_password_hash(secrets.token_urlsafe(16))


def sign_in(email: str, password: str, client_address: str | None,
            known_organizer_ids: frozenset[str] = frozenset()) -> Organizer | None:
    """The organizer with this email and password, None if they do not match, or SignInThrottled.
    `known_organizer_ids` are the accounts this browser signed in to before (its known-browser cookie)."""
    stand_in = _stand_in_hash()  # made before anything is timed, on the first attempt of either kind
    client = limiter.peek(_client(client_address), WINDOW_SECONDS)
    if client.count >= CLIENT_FAILURES:
        raise SignInThrottled(client.retry_after)
    organizer = find_by_email(email or "")
    account = limiter.peek(_account(email), WINDOW_SECONDS)
    if account.count >= ACCOUNT_FAILURES and (organizer is None or organizer.id not in known_organizer_ids):
        raise SignInThrottled(account.retry_after)
    stored = organizer.password_hash if organizer is not None else stand_in
    if check_password_hash(stored, password or "") and organizer is not None:
        return organizer
    limiter.hit(_client(client_address), WINDOW_SECONDS)
    limiter.hit(_account(email), WINDOW_SECONDS)
    return None


def end_sessions(organizer: Organizer) -> None:
    """Sign the organizer out everywhere: every session cookie issued so far names an old version."""
    organizer.session_version = (organizer.session_version or 0) + 1
    db.session.commit()


def organizer_of_session(session_id: str) -> Organizer | None:
    """The organizer a session cookie names, if that session has not been ended."""
    organizer_id, _, version = (session_id or "").partition(":")
    organizer = db.session.get(Organizer, organizer_id) if organizer_id and version.isdigit() else None
    if organizer is None or organizer.session_version != int(version):
        return None
    return organizer
