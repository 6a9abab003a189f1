"""Anonymous questions (attendee, by personal link) and their moderation (organizer)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from eventhub.domain.questions import MAX_ANSWER_LENGTH, MAX_LENGTH
from eventhub.web.schemas.common import Answer, ChangeBody, Instant, RequestBody


class QuestionIn(RequestBody):
    text: str = Field(description=f"at least 3 characters; over {MAX_LENGTH} answers 413",
                      examples=["Will the Manila office get its own town hall slot?"])


class QuestionAsked(Answer):
    id: str
    status: Literal["visible", "pending"]


class VoteCount(Answer):
    votes: int


class BoardEvent(Answer):
    title: str
    start: Instant
    questions_close: Instant
    open: bool
    moderation: bool


class BoardQuestion(Answer):
    id: str
    text: str
    votes: int
    status: Literal["visible", "answered"]
    answer: str | None
    voted: bool


class Board(Answer):
    """The attendee's board, most votes first; answered with an `ETag`, and 304 to a matching `If-None-Match`."""

    event: BoardEvent
    questions: list[BoardQuestion]


class BoardHeaders(RequestBody):
    if_none_match: str = Field(default="", alias="If-None-Match", description="the `ETag` of the board last read")


class ModeratedQuestion(Answer):
    id: str
    text: str
    votes: int
    status: Literal["pending", "visible", "hidden", "answered"]
    answer: str | None
    merged_into: str | None


class ModerationList(Answer):
    questions: list[ModeratedQuestion]


class ModerationIn(ChangeBody):
    """A status, an answer (which marks the question answered), or both."""

    status: Literal["visible", "hidden", "answered"] = None
    answer: str | None = Field(default=None, description=f"over {MAX_ANSWER_LENGTH} characters answers 413",
                               examples=["Yes, from the next quarter on."])


class MergeIn(RequestBody):
    into: str = Field(description="the id of the question that takes this one's votes")
