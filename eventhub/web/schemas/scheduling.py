"""Fair meeting times: `POST /api/v1/suggestions` and `POST /api/v1/series` (the engine checks the bounds)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from eventhub.web.schemas.common import Answer, Email, Instant, RequestBody
from eventhub.web.schemas.events import Every


class PlanningBody(RequestBody):
    """The engine reads these bodies itself after this check, keys this model does not name included."""

    model_config = ConfigDict(extra="allow")


class BusyIn(PlanningBody):
    start: Instant
    end: Instant


class SchedulingGroup(PlanningBody):
    name: str
    timezone: str = Field(description="IANA zone name")
    work_start: str = Field(description="HH:MM local; a window may cross midnight", examples=["09:00"])
    work_end: str = Field(examples=["17:00"])
    workdays: list[str] | None = Field(default=None, description="distinct day names, mon..sun in any letter case; "
                                                                 "defaults to Monday-Friday", examples=[["mon", "tue"]])
    holidays: str | None = Field(default=None, description="ISO country code", examples=["US"])
    headcount: int = 1
    busy: list[BusyIn] | None = None
    calendars: list[Email] | None = Field(default=None, description="read from Google Calendar when configured")


class HistoryWindowIn(PlanningBody):
    """Which of the organizer's town halls count: those starting in [from, to); either may be left out."""

    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None


HISTORY = Field(default=True, description="false: the organizer's earlier town halls do not count; true: those of "
                                          "the last 12 months and what is scheduled; or a window of its own")

EXAMPLE_GROUPS = [
    {"name": "New York", "timezone": "America/New_York", "work_start": "09:00", "work_end": "17:00",
     "workdays": ["mon", "tue", "wed", "thu", "fri"], "holidays": "US", "headcount": 40,
     "busy": [{"start": "2030-03-05T15:00:00Z", "end": "2030-03-05T16:00:00Z"}]},
    {"name": "Manila", "timezone": "Asia/Manila", "work_start": "21:00", "work_end": "06:00", "holidays": "PH"}]


class SuggestionsIn(PlanningBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "groups": EXAMPLE_GROUPS, "duration_minutes": 60, "from": "2030-03-04T00:00:00Z",
        "to": "2030-03-09T00:00:00Z", "step_minutes": 15, "limit": 5}]})
    groups: list[SchedulingGroup]
    duration_minutes: int
    from_: Instant = Field(alias="from")
    to: Instant
    step_minutes: int = 15
    limit: int = 5
    history: bool | HistoryWindowIn = HISTORY


class SeriesIn(PlanningBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "groups": EXAMPLE_GROUPS, "duration_minutes": 60, "from": "2030-03-04T00:00:00Z", "count": 4,
        "every": "week"}]})
    groups: list[SchedulingGroup]
    duration_minutes: int
    from_: Instant = Field(alias="from")
    to: Instant | None = None
    count: int
    every: Every
    step_minutes: int = 15
    history: bool | HistoryWindowIn = HISTORY


class GroupPain(Answer):
    name: str
    local_start: str
    local_end: str
    pain: float
    outside_minutes: int
    workday: bool
    holiday: str | None
    night: bool


class Suggestion(Answer):
    start: Instant
    end: Instant
    max_pain: float
    total_pain: float
    groups: list[GroupPain]


class LedgerRow(Answer):
    name: str
    pain: float
    events: int


class Suggestions(Answer):
    suggestions: list[Suggestion]
    ledger: list[LedgerRow] | None = Field(default=None, description="absent when `history` is false")


class Burden(Answer):
    name: str
    pain: float


class Fairness(Answer):
    jain: float = Field(ge=0, le=1)


class Series(Answer):
    occurrences: list[Suggestion]
    burden: list[Burden]
    fairness: Fairness
    ledger: list[LedgerRow] | None = None
