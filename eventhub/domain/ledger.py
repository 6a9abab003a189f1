"""The burden ledger: how much an organizer's earlier town halls have already cost each group.

A past town hall counts for a group of the request when it had a group of the same name in the
same zone. Its pain is judged with the request's view of that group (working hours, workdays,
holidays), exactly as a new suggestion would be; each occurrence of a series is one town hall.
The ledger keeps, per request group, the summed pain and the number of town halls counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eventhub.domain import zones
from eventhub.domain.pain import evaluate_group
from eventhub.domain.scheduling_input import Group

MAX_EVALUATIONS = 10_000  # (town hall, distinct group profile) pairs judged for one ledger


@dataclass(frozen=True)
class PastTownHall:
    """One meeting that already happened or is already scheduled."""

    start: datetime
    duration: int  # minutes
    groups: frozenset[tuple[str, str]]  # (name, IANA zone name)


@dataclass(frozen=True)
class LedgerEntry:
    name: str
    pain: float
    events: int

    def to_json(self) -> dict:
        return {"name": self.name, "pain": round(self.pain, 3), "events": self.events}


def burden_ledger(groups: tuple[Group, ...], town_halls, max_evaluations: int = MAX_EVALUATIONS
                  ) -> tuple[LedgerEntry, ...]:
    """Per request group (in order), the pain of the town halls it took part in.

    `town_halls` come newest first; once `max_evaluations` judgements are spent the older ones are
    left out, so one ledger's work stays bounded however long the organizer's history is."""
    index_of = {(group.name, zones.zone_name(group.zone)): i for i, group in enumerate(groups)}
    pain = [0.0] * len(groups)
    events = [0] * len(groups)
    spent = 0
    for hall in town_halls:
        members = sorted(index_of[key] for key in hall.groups if key in index_of)
        if not members:
            continue
        judged = {groups[index].profile: groups[index] for index in members}
        if spent + len(judged) > max_evaluations:
            break
        spent += len(judged)
        for profile, group in judged.items():
            judged[profile] = evaluate_group(group, hall.start, hall.duration).pain
        for index in members:
            pain[index] += judged[groups[index].profile]
            events[index] += 1
    return tuple(LedgerEntry(group.name, pain[i], events[i]) for i, group in enumerate(groups))


def past_burden(ledger: tuple[LedgerEntry, ...]) -> tuple[float, ...]:
    """The ledger's pains in request order, as the engines take them."""
    return tuple(entry.pain for entry in ledger)


def heaviest(ledger: tuple[LedgerEntry, ...], count: int = 3) -> tuple[LedgerEntry, ...]:
    """The groups that have carried the most pain, most first; those with none are left out."""
    return tuple(sorted((e for e in ledger if e.pain > 0), key=lambda e: (-e.pain, e.name))[:count])


def ledger_summary(ledger: tuple[LedgerEntry, ...] | None) -> str:
    """In words: who has been carrying the bad hours of the organizer's earlier town halls."""
    if ledger is None:
        return "History is off: earlier town halls are not weighed in."
    if not any(entry.events for entry in ledger):
        return "None of these groups was in one of your earlier town halls in the window."
    carriers = heaviest(ledger)
    if not carriers:
        return "Your earlier town halls all fell inside everyone's working hours: nobody carries a burden yet."
    first, *others = carriers
    text = (f"{first.name} has been carrying the bad hours: {_count(first.events)} cost them "
            f"{first.pain:,.1f} pain")
    if others:
        text += "; then " + ", ".join(f"{e.name} ({e.pain:,.1f} over {_count(e.events)})" for e in others)
    spared = [e.name for e in ledger if e.events and e.pain == 0]
    if spared:
        text += ". " + _names(spared) + (" has" if len(spared) == 1 else " have") + " had no pain at all"
    return text + ". The suggestions below lean towards those who carried the most."


def _count(events: int) -> str:
    return f"{events} town hall" + ("" if events == 1 else "s")


def _names(names: list[str]) -> str:
    shown = names[:3] + ([f"{len(names) - 3} more"] if len(names) > 3 else [])
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
