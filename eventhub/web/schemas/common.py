"""Shapes every part of the API shares: the error model, instants, emails, job ids."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# An ISO 8601 instant with an offset; the domain parses it (and says which field is wrong).
Instant = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Email = Annotated[str, Field(json_schema_extra={"format": "email"}, max_length=254)]


class RequestBody(BaseModel):
    """A JSON body as the API accepts it: JSON types only, no coercion ("60" is not 60); unknown keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class ChangeBody(RequestBody):
    """A partial change: only the fields present change, and an unknown field is refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Answer(BaseModel):
    """A JSON answer; later versions may add fields."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    code: str = Field(description="malformed, unauthorized, forbidden, not_found, conflict, too_large, invalid, "
                                  "rate_limited, ...")
    message: str
    field: str | None = Field(description="the offending field's path, such as `groups[1].timezone`")


class ErrorAnswer(BaseModel):
    """Every error: a fitting 4xx (or 503 when the service cannot record a change)."""

    error: ErrorDetail


class JobStarted(Answer):
    job_id: str


class JobStatus(Answer):
    status: Literal["queued", "started", "finished", "failed"]
    done: int
    total: int
