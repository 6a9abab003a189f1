"""Database tables. Instants are stored as UTC and always come back as aware UTC datetimes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import DateTime, String, TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column

from eventhub.extensions import db


def new_id() -> str:
    """A random, non-sequential public id."""
    return secrets.token_hex(16)


def utcnow() -> datetime:
    return datetime.now(UTC)


def hash_token(token: str) -> str:
    """Tokens are long random strings, so one SHA-256 is enough to keep them out of the database."""
    return hashlib.sha256(token.encode()).hexdigest()


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC (SQLite keeps no zone) and returns them aware in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Organizer(UserMixin, db.Model):
    __tablename__ = "organizers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<Organizer {self.id}>"
