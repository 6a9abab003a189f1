"""Anonymous questions: the rules that keep them anonymous and fair, without an app.

- A voter is a keyed pseudonym of their link, `HMAC(event key, link token)`: stable while the key
  lives (one vote per link), meaningless once the key is destroyed at close.
- The organizer sees what every attendee sees: a total per question and no breakdown by group or time,
  since whoever writes the attendee list can make any group a group of one real person.
- Stored times are rounded down to the hour; boards list by votes with ties in random order, never
  by arrival, so neither order nor time tells who asked.
- Text a person typed stays text: CSV cells that a spreadsheet would run as a formula are defused.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from eventhub.domain.errors import InvalidField, refuse_control_characters

MIN_LENGTH = 3
MAX_LENGTH = 1000
MAX_ANSWER_LENGTH = 5000


class TextTooLong(InvalidField):
    """The text is over the limit: answered with 413, as a body too large for its purpose."""


def clean_question(value: object) -> str:
    """The question as it will be stored: trimmed, with control characters refused."""
    if not isinstance(value, str):
        raise InvalidField("text", "must be text")
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > MAX_LENGTH:
        raise TextTooLong("text", f"must be at most {MAX_LENGTH} characters")
    if len(text) < MIN_LENGTH or not any(character.isalnum() for character in text):
        raise InvalidField("text", f"must be at least {MIN_LENGTH} characters, not only spaces or punctuation")
    return refuse_control_characters(text, "text")


def clean_answer(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField("answer", "must be text")
    text = value.strip()
    if len(text) > MAX_ANSWER_LENGTH:
        raise TextTooLong("answer", f"must be at most {MAX_ANSWER_LENGTH} characters")
    return refuse_control_characters(text, "answer") or None


def voter_pseudonym(event_key: bytes, token: str) -> str:
    """Who voted, as far as the database knows: unlinkable to the link without the event key."""
    return hmac.new(event_key, b"voter:" + token.encode(), hashlib.sha256).hexdigest()


RATE_PURPOSES = ("ask", "vote")


def rate_key(event_key: bytes, token: str, purpose: str) -> str:
    """What one per-link rate limit counts under: a pseudonym of its own for each purpose, so the limiter's
    keys (in Redis for an hour) match neither the voter pseudonyms stored with votes nor each other: the
    counter of questions asked cannot be joined with the counter of votes cast."""
    if purpose not in RATE_PURPOSES:
        raise ValueError(f"unknown rate limit {purpose!r}")
    return hmac.new(event_key, f"rate:{purpose}:".encode() + token.encode(), hashlib.sha256).hexdigest()


def questions_open(cancelled: bool, questions_close: datetime, now: datetime) -> bool:
    """Questions and votes are taken from the invite until `questions_close`, unless the town hall is cancelled."""
    return not cancelled and now < questions_close


def rounded_to_hour(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class BoardEntry:
    id: str
    text: str
    votes: int
    status: str
    answer: str | None


def board_order(entries: Sequence[BoardEntry], rng: random.Random | None = None) -> list[BoardEntry]:
    """Most votes first; equal votes in random order, so the order never reveals who asked first."""
    shuffled = list(entries)
    (rng or random.SystemRandom()).shuffle(shuffled)
    return sorted(shuffled, key=lambda entry: -entry.votes)


def _words(text: str) -> set[str]:
    return {word for word in re.findall(r"\w+", text.lower()) if len(word) > 2}


def similar_pairs(questions: Sequence[tuple[str, str]], threshold: float = 0.5) -> list[tuple[str, str, float]]:
    """Pairs of questions that look like duplicates (Jaccard similarity of their words), most alike first."""
    words = [(question_id, _words(text)) for question_id, text in questions]
    pairs = []
    for index, (first_id, first) in enumerate(words):
        for second_id, second in words[index + 1:]:
            if first and second:
                score = len(first & second) / len(first | second)
                if score >= threshold:
                    pairs.append((first_id, second_id, round(score, 2)))
    return sorted(pairs, key=lambda pair: -pair[2])


def spreadsheet_safe(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading =, +, -, @, tab or return would start a formula."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
