"""The shared part of an attendee board, built once per change of its event, not once per request.

A board's snapshot (the event's title and times, its visible questions with counts, answers and statuses,
in board order) is the same for every link of the event. It is kept under the event's id with a version:
in Redis when `REDIS_URL` is set (so every web process shares it), in this process otherwise. Every commit
that changes a question, a vote or the event bumps the version and announces "board of event X changed,
version V" (Redis pub/sub, at most once per quiet window of a busy board as `board_versions` explains; or the
in-process notifier), which the live streams pass on.

Nothing here is per link: no token, voter pseudonym or vote set is ever stored, keyed or published. A
link's own `voted` flags are read per request by the caller and never kept.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading

from flask import current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session

from eventhub.extensions import db, shared
from eventhub.models import Attendee, Event, Occurrence, Question, QuestionKey
from eventhub.services.board_snapshot import Snapshot, build_snapshot
from eventhub.services.board_versions import QUIET_MS, FollowUps, Notifier, PendingBumps
from eventhub.services.links import LinkCache

log = logging.getLogger(__name__)

VERSION_KEY = "eventhub:board:{event_id}:version"
QUIET_KEY = "eventhub:board:{event_id}:quiet"  # set while a change was announced less than QUIET_MS ago
SNAPSHOT_KEY = "eventhub:board:{event_id}:snapshot:{version}"
CHANNEL = "eventhub:board-changed"
SNAPSHOT_TTL_SECONDS = 600
VERSION_TTL_SECONDS = 30 * 24 * 3600


def _bump_lua(key: str, quiet: str, ttl: str, channel: str, event: str) -> str:
    """Lua (its arguments Lua expressions): the version goes up, leaving the new version in `version`; on a
    board quiet for `QUIET_MS` "board of event X changed, version V" goes out (`board_versions` says how the
    changes within the window reach every process)."""
    notice = "'{\"event\":' .. " + event + " .. ',\"version\":' .. version .. '}'"
    return (f"local version = redis.call('INCR', {key})\nredis.call('EXPIRE', {key}, {ttl})\n"
            f"if redis.call('SET', {quiet}, '1', 'PX', {QUIET_MS}, 'NX') then\n"
            f"  redis.call('PUBLISH', {channel}, {notice})\nend\n")


_BUMP_SCRIPT = _bump_lua("KEYS[1]", "KEYS[2]", "ARGV[1]", "ARGV[2]", "ARGV[3]") + "return version\n"
_PENDING = "eventhub_boards_changed"  # Session.info key: the events whose boards this transaction changes
_PENDING_LINKS = "eventhub_links_changed"  # the events whose links or facts (services/links.py) it changes


# ---------------------------------------------------------------- the stores


class InProcessBoards:
    """Snapshots in this process's memory: right for one process (the embedded default, `make run`)."""

    def __init__(self):
        self.notifier = Notifier()
        self.links = LinkCache()
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}
        self._snapshots: dict[str, Snapshot] = {}

    @property
    def links_usable(self) -> bool:
        return True  # every change is announced in this process as it commits

    def version(self, event_id: str) -> int:
        return self._versions.get(event_id, 0)

    def snapshot(self, event_id: str) -> Snapshot | None:
        version = self.version(event_id)
        found = self._snapshots.get(event_id)
        if found is not None and found.version == version:
            return found
        built = build_snapshot(event_id, version)  # read after the version: never older than it
        if built is not None:
            with self._lock:
                current = self._snapshots.get(event_id)
                if current is None or current.version <= version:
                    self._snapshots[event_id] = built
        return built

    def listen(self) -> None:
        """Changes are announced in this process as they commit: nothing to subscribe to."""

    def bump(self, event_ids: set[str]) -> None:
        for event_id in event_ids:
            with self._lock:
                version = self._versions[event_id] = self._versions.get(event_id, 0) + 1
                self._snapshots.pop(event_id, None)
            self.notifier.announce(event_id, version)

    def bump_soon(self, event_ids: set[str]) -> None:
        """In one process a bump costs nothing to share: done at once."""
        self.bump(event_ids)

    def forget_links(self, event_ids: set[str]) -> None:
        self.links.forget(event_ids)

    def close(self) -> None:
        """Nothing runs in the background here."""


class RedisBoards:
    """Snapshots in Redis, shared by every web process; each process keeps the parsed current one.

    While this process's relay is subscribed to the announcements it also knows each board's version
    without asking Redis (a version is read once, then kept current by the announcements and the re-read
    after each, `board_versions.FollowUps`); whenever the subscription breaks, what it knew is forgotten and
    versions are read from Redis again."""

    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        self.notifier = Notifier()
        self.links = LinkCache()
        self._local: dict[str, Snapshot] = {}
        self._versions: dict[str, int] = {}
        self._versions_lock = threading.Lock()
        self._follow_ups = FollowUps()  # the versions to read again, for changes announced with no message
        self._relaying = threading.Event()  # set while the subscription is confirmed and unbroken
        self._listener: threading.Thread | None = None
        self._closed = threading.Event()
        self._listener_lock = threading.Lock()
        # Bumps use a client of their own: `PendingBumps` runs them outside any app, on its own thread.
        self._redis = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=10)
        self._bump = self._redis.register_script(_BUMP_SCRIPT)  # each run by its hash (EVALSHA)
        self._pending = PendingBumps(self.bump)

    @property
    def connection(self):
        return shared.connection

    @property
    def links_usable(self) -> bool:
        """Kept links may be used only while no announcement can have been missed."""
        if not self._relaying.is_set():
            self.listen()
        return self._relaying.is_set()

    def version(self, event_id: str) -> int:
        self._pending.settle(event_id)  # this process's own committed changes first
        relaying = self._relaying.is_set()
        if relaying and (known := self._versions.get(event_id)) is not None:
            return known
        version = int(self.connection.get(VERSION_KEY.format(event_id=event_id)) or 0)
        if relaying:
            self._learn(event_id, version)
        return version

    def _learn(self, event_id: str, version: int, read_again: bool = True) -> bool:
        """This process knows `version` (from a message, its own change or a read): kept if newer (True then),
        passed to its streams, and read again soon (`read_again`), since a change made within the board's
        quiet window after this one is announced by no message."""
        with self._versions_lock:  # versions only go up: an older read never hides a newer announcement
            newer = version > self._versions.get(event_id, -1)
            if newer:
                self._versions[event_id] = version
        if read_again:
            self._follow_ups.book(event_id)
        self.notifier.announce(event_id, version)  # (a stream already told this version waits on)
        return newer

    def snapshot(self, event_id: str) -> Snapshot | None:
        if not self._relaying.is_set():
            self.listen()
        try:
            version = self.version(event_id)
        except RedisError as error:  # Redis away: the board still reads, straight from the database
            log.warning("board snapshot store unreachable (%s); reading the board from the database",
                        type(error).__name__)
            return build_snapshot(event_id, -1)
        found = self._local.get(event_id)
        if found is not None and found.version == version:
            return found
        key = SNAPSHOT_KEY.format(event_id=event_id, version=version)
        try:
            stored = self.connection.get(key)
        except RedisError:
            stored = None
        if stored is not None:
            found = Snapshot.from_json(stored)
        else:
            found = build_snapshot(event_id, version)
            if found is None:
                return None
            try:
                self.connection.set(key, found.to_json(), ex=SNAPSHOT_TTL_SECONDS, nx=True)
            except RedisError:
                pass
        self._local[event_id] = found
        return found

    def bump(self, event_ids: set[str]) -> None:
        try:
            for event_id in event_ids:  # one round trip each: count up, keep, announce
                version = self._bump(keys=[VERSION_KEY.format(event_id=event_id), QUIET_KEY.format(event_id=event_id)],
                                     args=[VERSION_TTL_SECONDS, CHANNEL, json.dumps(event_id)])
                if self._relaying.is_set():  # this process reads its own change at once, its streams too
                    self._learn(event_id, int(version))
        except RedisError as error:
            # The change is committed; boards read from Redis may lag until it answers again.
            log.warning("could not announce a board change (%s)", type(error).__name__)

    def bump_soon(self, event_ids: set[str]) -> None:
        """Bump the boards shortly, in one round trip with their other changes meanwhile (`PendingBumps`)."""
        self._pending.add(event_ids)

    def forget_links(self, event_ids: set[str]) -> None:
        """Forget the events' links here, and tell every other process to (each entry expires anyway)."""
        self.links.forget(event_ids)
        try:
            for event_id in event_ids:
                self.connection.publish(CHANNEL, json.dumps({"event": event_id, "links": True}))
        except RedisError as error:
            log.warning("could not announce a change of links (%s)", type(error).__name__)

    def listen(self) -> None:
        """Start (once per process) the thread that relays Redis announcements to this process's streams."""
        with self._listener_lock:
            if self._closed.is_set() or (self._listener is not None and self._listener.is_alive()):
                return
            subscribed = threading.Event()
            self._listener = threading.Thread(target=self._relay, args=(subscribed,), name="eventhub-board-relay",
                                              daemon=True)
            self._listener.start()
            subscribed.wait(2)  # so the first stream of this process misses no change made right after it opens

    def _heard(self, notice: dict) -> None:
        if notice.get("links"):
            self.links.forget([str(notice["event"])])
            return
        self._learn(str(notice["event"]), int(notice["version"]))

    def _read_again(self, connection: Redis, event_id: str) -> None:
        """A version read again after the quiet window (on the relay's own connection, outside any app):
        a newer one is passed on as an announcement would be."""
        version = int(connection.get(VERSION_KEY.format(event_id=event_id)) or 0)
        if self._learn(event_id, version, read_again=False):  # unchanged: nothing more to catch
            self._follow_ups.book(event_id)

    def close(self) -> None:
        """Stop relaying announcements (the app is shutting down); kept links are no longer used."""
        self._closed.set()  # the relay sees it within a quarter of a second
        self._pending.close()
        self._redis.close()
        if self._listener is not None:
            self._listener.join(5)

    def _relay(self, subscribed: threading.Event) -> None:
        while not self._closed.is_set():
            pubsub = None
            try:
                connection = Redis.from_url(self.redis_url, socket_connect_timeout=2, health_check_interval=30)
                pubsub = connection.pubsub()
                pubsub.subscribe(CHANNEL)
                confirmed = pubsub.get_message(timeout=2)
                if not confirmed or confirmed["type"] != "subscribe":
                    raise RedisError("the subscription was not confirmed")
                with self._versions_lock:  # from here on nothing is missed: what came before is read afresh
                    self._versions.clear()
                    self._follow_ups.clear()
                    self._local.clear()  # (a Redis that restarted empty counts versions from 0 again)
                    self.links.clear()
                self._relaying.set()
                subscribed.set()
                while not self._closed.is_set():  # (not `listen`: `close` must be seen)
                    message = pubsub.get_message(timeout=self._follow_ups.seconds_to_next(0.25))
                    if message is not None and message["type"] == "message":
                        self._heard(json.loads(message["data"]))
                    for event_id in self._follow_ups.take_due():
                        self._read_again(connection, event_id)
            except (RedisError, OSError, ValueError, KeyError) as error:
                if not self._closed.is_set():
                    log.warning("board announcements interrupted (%s); resubscribing", type(error).__name__)
            finally:
                self._relaying.clear()
                with self._versions_lock:
                    self._versions.clear()
                if pubsub is not None:
                    with contextlib.suppress(RedisError, OSError):
                        pubsub.close()
            self._closed.wait(1)


def init_app(app) -> None:
    """Bind the snapshot store (Redis when `REDIS_URL` is set, else this process's memory) to the app."""
    redis_url = app.config.get("REDIS_URL")
    app.extensions["eventhub_boards"] = RedisBoards(redis_url) if redis_url else InProcessBoards()


def boards() -> InProcessBoards | RedisBoards:
    return current_app.extensions["eventhub_boards"]


def snapshot_of(event_id: str) -> Snapshot | None:
    """The current shared board of the event (None if the event is gone)."""
    return boards().snapshot(event_id)


def links_changed(event_id: str, session: Session | None = None) -> None:
    """Mark the event's links or facts (attendees, times, voter key) changed by the current transaction:
    every process forgets what it kept of them after its commit. (ORM writes are marked by themselves.)"""
    (session or db.session()).info.setdefault(_PENDING_LINKS, set()).add(event_id)


def announce_soon(event_ids: set[str]) -> None:
    """The events' boards changed by writes already committed outside the session (a vote): bumped within a
    moment, shared with the board's other changes meanwhile; this process's own reads wait for it
    (`board_versions.PendingBumps`)."""
    boards().bump_soon(event_ids)


def changed(event_id: str, session: Session | None = None) -> None:
    """Mark the event's board changed by the current transaction: bumped and announced after its commit.
    (Questions and events written through the ORM are marked by themselves; bulk statements call this.)"""
    (session or db.session()).info.setdefault(_PENDING, set()).add(event_id)


@orm_event.listens_for(Session, "after_flush")
def _mark_flushed_changes(session, _context) -> None:
    new = session.new  # each read of it builds the set anew: read once, not once per instance (10,000 attendees)
    for instance in (*new, *session.dirty, *session.deleted):
        if isinstance(instance, (Question, Occurrence)):
            changed(instance.event_id, session)
        elif isinstance(instance, Event):
            changed(instance.id, session)
            links_changed(instance.id, session)
        elif isinstance(instance, QuestionKey) or (isinstance(instance, Attendee) and instance not in new):
            links_changed(instance.event_id, session)  # a voter key made or destroyed, an attendee taken off


@orm_event.listens_for(Session, "after_commit")
def _announce_committed_changes(session) -> None:
    pending = session.info.pop(_PENDING, None)
    links = session.info.pop(_PENDING_LINKS, None)
    if (pending or links) and has_app_context() and "eventhub_boards" in current_app.extensions:
        if links:
            boards().forget_links(links)
        if pending:
            boards().bump(pending)


@orm_event.listens_for(Session, "after_rollback")
def _forget_rolled_back_changes(session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_LINKS, None)
