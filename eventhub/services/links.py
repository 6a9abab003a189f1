"""What a personal link stands for, remembered by this web process.

Every attendee request starts from a link token: which town hall it belongs to (and that its attendee is still
on the list), whether the town hall's questions are open, and the event's voter key. Those change rarely (an
attendee taken off the list, the town hall edited or cancelled, the window closing), so each process keeps them
after the first read. A commit that changes them makes every process forget that event's entries: this one at
once, the others through the boards' announcements (`services/board.py`), which also say when they may have
missed one (the cache is then emptied, and not used until they are back). An entry older than `TTL_SECONDS` is
read again anyway, so an announcement that never arrived cannot keep one stale for long.

What is kept: a token's hash with its attendee's id and event, and per event its times, moderation and voter
key (the key the database holds until the window closes, forgotten with it). No token is kept. A link's own
votes are kept only as of one version of its board: every vote or vote taken back raises that version, so
until it moves the link's votes cannot have changed, and a quiet board's refresh needs no query; the entries
go as soon as the board moves on, and with the event's other entries (its key destroyed at the close too).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from eventhub.domain.questions import questions_open
from eventhub.domain.statuses import EventStatus
from eventhub.extensions import statements
from eventhub.models import Attendee, Event, QuestionKey, hash_token
from eventhub.services.prepared import Prepared, driver_statements

TTL_SECONDS = 60.0
MAX_LINKS = 200_000  # beyond this the oldest entries go first: a process never holds more than this many links


@dataclass(frozen=True)
class Link:
    attendee_id: str
    event_id: str


@dataclass(frozen=True)
class EventFacts:
    """What an attendee's action needs of its town hall: whether questions are open, moderation, the voter key."""

    questions_close: datetime
    cancelled: bool
    moderation: bool
    key: bytes | None  # None until first made, and again once the window closed and it was destroyed

    def open_at(self, now: datetime) -> bool:
        return questions_open(self.cancelled, self.questions_close, now)


_LINK = Prepared(select(Attendee.id, Attendee.event_id).where(Attendee.token_hash == bindparam("token_hash"),
                                                               Attendee.removed.is_(False)))
_FACTS = select(Event.questions_close, Event.status, Event.moderation, QuestionKey.key).outerjoin(
    QuestionKey, QuestionKey.event_id == Event.id).where(Event.id == bindparam("event_id"))


class LinkCache:
    """Links and event facts read from the database, kept until their event is forgotten or they grow old.

    Forgetting is ordered against reading by a generation count: a read that began before an event was
    forgotten is not kept, since it may hold what the forgetting commit changed."""

    def __init__(self, ttl: float = TTL_SECONDS, max_links: int = MAX_LINKS):
        self.ttl = ttl
        self.max_links = max_links
        self._lock = threading.Lock()
        self._generation = 0
        self._forgotten_at: dict[str, int] = {}  # event id -> the generation it was last forgotten in
        self._links: dict[str, tuple[Link, float]] = {}  # token hash -> (link, when read)
        self._facts: dict[str, tuple[EventFacts, float]] = {}  # event id -> (facts, when read)
        # event id -> (board version, voter pseudonym -> the questions it voted for at that version)
        self._voted: dict[str, tuple[int, dict[str, frozenset[str]]]] = {}

    def link(self, token: str, usable: bool = True) -> Link | None:
        """The link's attendee and event, or None (no such link, or its attendee was taken off the list)."""
        token_hash = hash_token(token)
        if usable and (kept := self._links.get(token_hash)) is not None and self._fresh(kept[1]):
            return kept[0]
        generation = self._generation
        with driver_statements() as run:
            found = run.rows(_LINK, token_hash=token_hash)
        if not found:
            return None  # not kept: an attendee added later is found at once
        link = Link(*found[0])
        if usable:
            self._keep(self._links, token_hash, link, link.event_id, generation)
            if len(self._links) > self.max_links:
                with self._lock:
                    for old in list(self._links)[: len(self._links) - self.max_links]:
                        self._links.pop(old, None)
        return link

    def facts(self, event_id: str, usable: bool = True) -> EventFacts | None:
        """The event's open window, moderation and voter key (None if the event is gone)."""
        if usable and (kept := self._facts.get(event_id)) is not None and self._fresh(kept[1]):
            return kept[0]
        generation = self._generation
        with statements() as connection:
            row = connection.execute(_FACTS, {"event_id": event_id}).first()
        if row is None:
            return None
        facts = EventFacts(row[0], row[1] == EventStatus.CANCELLED, bool(row[2]), row[3])
        if usable:
            self._keep(self._facts, event_id, facts, event_id, generation)
        return facts

    def voted(self, event_id: str, version: int, voter: str) -> frozenset[str] | None:
        """The questions `voter` voted for as of the board's `version`, if this process read them at it."""
        kept = self._voted.get(event_id)
        return kept[1].get(voter) if kept is not None and kept[0] == version else None

    def keep_voted(self, event_id: str, version: int, voter: str, voted: frozenset[str], generation: int) -> None:
        """Keep what a read that began at `generation` found `voter` voted for at `version` (older versions go)."""
        with self._lock:
            kept = self._voted.get(event_id)
            if not self._unforgotten(event_id, generation) or (kept is not None and kept[0] > version):
                return
            if kept is None or kept[0] < version:
                kept = self._voted[event_id] = (version, {})
            if len(kept[1]) < self.max_links:
                kept[1][voter] = voted

    @property
    def generation(self) -> int:
        """Taken before a read whose answer is kept: a forgetting that happens meanwhile refuses it."""
        return self._generation

    def forget(self, event_ids) -> None:
        """The events' links and facts may have changed: read them again next time."""
        with self._lock:
            self._generation += 1
            for event_id in event_ids:
                self._forgotten_at[event_id] = self._generation
                self._facts.pop(event_id, None)
                self._voted.pop(event_id, None)
                for token_hash in [h for h, (link, _) in self._links.items() if link.event_id == event_id]:
                    self._links.pop(token_hash, None)

    def clear(self) -> None:
        """Forget everything (the announcements may have been missed)."""
        with self._lock:
            self._generation += 1
            self._forgotten_at.clear()
            self._forgotten_at[""] = self._generation  # every read begun before this is refused
            self._links.clear()
            self._facts.clear()
            self._voted.clear()

    def _fresh(self, read_at: float) -> bool:
        return time.monotonic() - read_at < self.ttl

    def _keep(self, store: dict, key: str, value, event_id: str, generation: int) -> None:
        with self._lock:
            if self._unforgotten(event_id, generation):
                store[key] = (value, time.monotonic())

    def _unforgotten(self, event_id: str, generation: int) -> bool:
        """No forgetting of this event (or of everything) began after a read that began at `generation` (under
        the lock)."""
        return generation >= max(self._forgotten_at.get(event_id, 0), self._forgotten_at.get("", 0))
