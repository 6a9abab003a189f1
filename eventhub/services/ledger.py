"""The burden ledger of an organizer: their earlier town halls read from the database and judged
by `eventhub.domain.ledger` with the working hours of the request that asks."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select

from eventhub.domain.ledger import LedgerEntry, PastTownHall, burden_ledger
from eventhub.domain.scheduling_input import Group, HistoryWindow
from eventhub.domain.statuses import EventStatus
from eventhub.extensions import db
from eventhub.models import Event, EventGroup, Occurrence

DEFAULT_LOOKBACK = timedelta(days=365)
MAX_TOWN_HALLS = 2_000  # the newest occurrences read for one ledger


def history_bounds(window: HistoryWindow, now: datetime) -> tuple[datetime, datetime | None]:
    """The window's edges, the default start being 12 months before `now` (no end by default)."""
    return (window.start if window.start is not None else now - DEFAULT_LOOKBACK), window.end


def past_town_halls(organizer_id: str, window: HistoryWindow, now: datetime) -> list[PastTownHall]:
    """The organizer's town halls (each occurrence of a series) in the window, cancelled ones
    left out, newest first, at most MAX_TOWN_HALLS."""
    start, end = history_bounds(window, now)
    query = (
        select(Occurrence.start, Event.id, Event.duration_minutes)
        .join(Event, Event.id == Occurrence.event_id)
        .where(Event.organizer_id == organizer_id, Event.status != EventStatus.CANCELLED, Occurrence.start >= start)
        .order_by(Occurrence.start.desc())
        .limit(MAX_TOWN_HALLS)
    )
    if end is not None:
        query = query.where(Occurrence.start < end)
    rows = db.session.execute(query).all()
    event_ids = {event_id for _, event_id, _ in rows}
    groups: dict[str, set] = defaultdict(set)
    if event_ids:
        for event_id, name, zone in db.session.execute(
            select(EventGroup.event_id, EventGroup.name, EventGroup.timezone).where(EventGroup.event_id.in_(event_ids))
        ):
            groups[event_id].add((name, zone))
    return [PastTownHall(begin, duration, frozenset(groups[event_id])) for begin, event_id, duration in rows]


def ledger_for(organizer_id: str, groups: tuple[Group, ...], window: HistoryWindow | None,
               now: datetime) -> tuple[LedgerEntry, ...] | None:
    """Each request group's past burden with this organizer; None when history is switched off."""
    if window is None:
        return None
    return burden_ledger(groups, past_town_halls(organizer_id, window, now))
