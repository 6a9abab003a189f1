"""The follow-up summary of a town hall: what it holds and in which order, checked without an app."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eventhub.domain.errors import InvalidField, refuse_control_characters

MAX_NOTES = 20_000
MAX_ACTION_ITEMS = 100
MAX_ACTION_ITEM = 500


@dataclass(frozen=True)
class SummaryQuestion:
    id: str
    text: str
    votes: int
    answer: str | None  # None: not answered, carried over to the next town hall


@dataclass(frozen=True)
class SummaryContent:
    title: str
    questions: tuple[SummaryQuestion, ...]
    notes: str
    action_items: tuple[str, ...]

    @property
    def carried_over(self) -> tuple[SummaryQuestion, ...]:
        return tuple(question for question in self.questions if question.answer is None)


def parse_summary_request(payload: object) -> tuple[str, tuple[str, ...]]:
    """`{"notes": "...", "action_items": ["..."]}` checked: (notes, action items)."""
    if not isinstance(payload, dict):
        raise InvalidField("body", "must be a JSON object")
    notes = payload.get("notes", "")
    if notes is None:
        notes = ""
    if not isinstance(notes, str):
        raise InvalidField("notes", "must be text")
    if len(notes) > MAX_NOTES:
        raise InvalidField("notes", f"must be at most {MAX_NOTES} characters")
    notes = refuse_control_characters(notes, "notes")
    items = payload.get("action_items", [])
    if items is None:
        items = []
    if not isinstance(items, list):
        raise InvalidField("action_items", "must be a list of text")
    if len(items) > MAX_ACTION_ITEMS:
        raise InvalidField("action_items", f"at most {MAX_ACTION_ITEMS} action items")
    cleaned = []
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidField(f"action_items[{index}]", "must be text")
        if len(item) > MAX_ACTION_ITEM:
            raise InvalidField(f"action_items[{index}]", f"must be at most {MAX_ACTION_ITEM} characters")
        item = refuse_control_characters(item, f"action_items[{index}]")
        if item.strip():
            cleaned.append(item.strip())
    return notes.strip(), tuple(cleaned)


def order_questions(questions: Iterable[SummaryQuestion]) -> tuple[SummaryQuestion, ...]:
    """Most votes first; among equals, answered before carried over, then by text (the same for everyone)."""
    return tuple(sorted(questions, key=lambda q: (-q.votes, q.answer is None, q.text)))
