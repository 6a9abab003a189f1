"""Who is on a town hall's list: the one place its shared reads are written.

An attendee the organizer took off the list stays as a row (`removed`), so that their cancellation can be
sent and their answers kept; everything that speaks of "the attendees" means the active ones below.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select

from eventhub.extensions import db
from eventhub.models import Attendee


def active(event_id: str, *columns, order_by=Attendee.email) -> Select:
    """The statement reading the event's current attendees (whole rows, or only `columns`), in `order_by`."""
    return (select(*columns) if columns else select(Attendee)).where(
        Attendee.event_id == event_id, Attendee.removed.is_(False)).order_by(order_by)


def active_list(event_id: str) -> list[Attendee]:
    """The event's current attendees, by email."""
    return list(db.session.scalars(active(event_id)))


def active_count(event_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Attendee).where(
        Attendee.event_id == event_id, Attendee.removed.is_(False)))


def everyone(event_id: str) -> list[Attendee]:
    """Every attendee the event ever had, those taken off the list included, by email."""
    return list(db.session.scalars(select(Attendee).where(Attendee.event_id == event_id).order_by(Attendee.email)))
