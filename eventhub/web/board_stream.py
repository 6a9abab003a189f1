"""Live boards: Server-Sent Events that say "board of event X changed, version V", nothing more.

`GET /api/v1/ask/<token>/stream` (the attendee's board) and `GET /events/<id>/questions/stream` (the
organizer's moderation section). Each open stream holds one thread of a gthread worker for up to
`BOARD_STREAM_SECONDS`; at most `BOARD_STREAMS_PER_PROCESS` are open in one process, past which the stream
answers 503 with `Retry-After` and the page keeps polling the board's ETag instead.
"""

from __future__ import annotations

import json
import threading
import time

from flask import Blueprint, Response, current_app
from flask_login import login_required

from eventhub.services import board as shared_board
from eventhub.services import questions
from eventhub.web.auth import page_event
from eventhub.web.errors import ApiError, error_response

api = Blueprint("board_stream_api", __name__, url_prefix="/api/v1")
pages = Blueprint("board_stream", __name__)

HEARTBEAT_SECONDS = 15  # a comment line this often finds a closed connection and keeps proxies from timing out


class StreamSlots:
    """How many streams this process may hold open at once."""

    def __init__(self, limit: int):
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit) if limit > 0 else None
        self.open = 0

    def take(self) -> bool:
        if self._free is None or not self._free.acquire(blocking=False):
            return False
        self.open += 1
        return True

    def give_back(self) -> None:
        self.open -= 1
        self._free.release()


def init_app(app) -> None:
    app.extensions["eventhub_board_streams"] = StreamSlots(int(app.config["BOARD_STREAMS_PER_PROCESS"]))


class BoardStream:
    """The body of one stream: the current version at once, then each new one, until its time is up.
    Its slot is given back when the server closes the body (also when it never started)."""

    def __init__(self, event_id: str, version: int, notifier: shared_board.Notifier, slots: StreamSlots,
                 seconds: float):
        self.event_id, self.version, self.notifier, self.slots = event_id, version, notifier, slots
        self.seconds = seconds
        self._returned = False
        self._lock = threading.Lock()

    def __iter__(self):
        yield "retry: 2000\n\n" + _message(self.version)
        seen = self.version  # what the page was told; any later version is news, however soon it came
        deadline = time.monotonic() + self.seconds
        while (left := deadline - time.monotonic()) > 0:
            version = self.notifier.wait_past(self.event_id, seen, min(HEARTBEAT_SECONDS, left))
            if version is None:
                yield ": still here\n\n"
            else:
                seen = version
                yield _message(version)

    def close(self) -> None:
        with self._lock:
            if not self._returned:
                self._returned = True
                self.slots.give_back()


def _message(version: int) -> str:
    return f"event: board\ndata: {json.dumps({'version': version})}\n\n"


def _stream(event_id: str, refuse) -> Response:
    slots: StreamSlots = current_app.extensions["eventhub_board_streams"]
    if not slots.take():
        return refuse()
    try:
        store = shared_board.boards()
        store.listen()
        version = store.version(event_id)
    except Exception:
        slots.give_back()
        raise
    body = BoardStream(event_id, version, store.notifier, slots, float(current_app.config["BOARD_STREAM_SECONDS"]))
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _busy():
    response = error_response(503, "This server holds as many live boards as it may; poll the board instead.")
    response.headers["Retry-After"] = "30"
    return response


def _busy_page():
    return Response("busy: refresh by polling\n", status=503, mimetype="text/plain", headers={"Retry-After": "30"})


@api.get("/ask/<token>/stream")
def attendee_stream(token: str):
    try:
        board = questions.Board(token)
    except questions.NotFound:
        raise ApiError(404, "No such link.") from None
    return _stream(board.event_id, _busy)


@pages.get("/events/<event_id>/questions/stream")
@login_required
def moderation_stream(event_id: str):
    return _stream(page_event(event_id).id, _busy_page)
