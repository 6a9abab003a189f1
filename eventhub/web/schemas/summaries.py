"""The follow-up summary of a town hall."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from eventhub.domain.summaries import MAX_ACTION_ITEM, MAX_ACTION_ITEMS, MAX_NOTES
from eventhub.web.schemas.common import Answer, RequestBody


class SummaryIn(RequestBody):
    notes: str | None = Field(default="", max_length=MAX_NOTES, examples=["Thanks for joining."])
    action_items: list[str] | None = Field(default=[], max_length=MAX_ACTION_ITEMS,
                                           description=f"each at most {MAX_ACTION_ITEM} characters")


class SummaryQuestion(Answer):
    id: str
    text: str
    votes: int
    answer: str | None
    carried_over: bool


class SummaryOut(Answer):
    status: Literal["draft", "sending", "sent"]
    job_id: str | None
    title: str
    questions: list[SummaryQuestion]
    notes: str
    action_items: list[str]
    sent: int
    failed: int
    page_url: str
