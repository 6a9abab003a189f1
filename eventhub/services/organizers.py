"""Organizer accounts: creation and API tokens (stored only as hashes); password sign-in is `sign_in`."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from eventhub.domain.errors import InvalidField
from eventhub.domain.events import normalize_email
from eventhub.extensions import db
from eventhub.models import Organizer, hash_token

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def _new_api_token() -> str:
    return "eh_" + secrets.token_urlsafe(32)


def create_organizer(email: str, password: str) -> tuple[Organizer, str]:
    """Create an organizer; return it with its API token, which is shown once and never stored."""
    email = normalize_email(email, "email")
    if not isinstance(password, str) or not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidField("password", f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")
    if find_by_email(email) is not None:
        raise InvalidField("email", "an organizer with this email already exists")
    token = _new_api_token()
    organizer = Organizer(
        email=email, password_hash=generate_password_hash(password), token_hash=hash_token(token)
    )
    db.session.add(organizer)
    db.session.commit()
    return organizer, token


def rotate_token(organizer: Organizer) -> str:
    """Replace the organizer's API token; the old one stops working at once."""
    token = _new_api_token()
    organizer.token_hash = hash_token(token)
    db.session.commit()
    return token


def find_by_email(email: str) -> Organizer | None:
    if "\x00" in email:  # no address holds one, and PostgreSQL refuses to compare with it
        return None
    return db.session.scalar(select(Organizer).where(func.lower(Organizer.email) == email.strip().lower()))


def find_by_token(token: str) -> Organizer | None:
    if not token:
        return None
    return db.session.scalar(select(Organizer).where(Organizer.token_hash == hash_token(token)))
