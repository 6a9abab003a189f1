"""Fair meeting times for an organizer: busy times from calendars, the burden ledger, then the engines."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from eventhub.domain.ledger import LedgerEntry, past_burden
from eventhub.domain.scheduling import Suggestion, rank_slots
from eventhub.domain.scheduling_input import SeriesRequest, SuggestionRequest
from eventhub.domain.series import SeriesPlan, plan_series, series_periods
from eventhub.services.calendar_busy import with_calendar_busy
from eventhub.services.ledger import ledger_for


@dataclass(frozen=True)
class SuggestionPlan:
    suggestions: list[Suggestion]
    ledger: tuple[LedgerEntry, ...] | None  # None: history switched off


@dataclass(frozen=True)
class RecurringPlan:
    plan: SeriesPlan
    ledger: tuple[LedgerEntry, ...] | None


def suggest_times(organizer_id: str, request: SuggestionRequest, now: datetime) -> SuggestionPlan:
    """The best times for one town hall, weighing the organizer's earlier town halls unless switched off."""
    groups = with_calendar_busy(request.groups, request.start, request.end)
    request = replace(request, groups=groups)
    ledger = ledger_for(organizer_id, groups, request.history, now)
    past = past_burden(ledger) if ledger is not None else None
    return SuggestionPlan(rank_slots(request, past), ledger)


def plan_recurring(organizer_id: str, request: SeriesRequest, now: datetime) -> RecurringPlan:
    """One occurrence per period, continuing the running totals of the organizer's ledger."""
    periods = series_periods(request)
    groups = with_calendar_busy(request.groups, request.start, periods[-1][1])
    request = replace(request, groups=groups)
    ledger = ledger_for(organizer_id, groups, request.history, now)
    past = past_burden(ledger) if ledger is not None else None
    return RecurringPlan(plan_series(request, past), ledger)
