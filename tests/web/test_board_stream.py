"""Live boards over Server-Sent Events, read by a streaming HTTP client: from the app served on loopback (with
the in-process notifier and with Redis pub/sub), and from two real gunicorn gthread processes sharing Redis."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
import requests

from eventhub.web.board_stream import StreamSlots
from tests.factories import create_town_hall, links, people
from tests.processes import Processes, app_env, free_port, start_sink


@pytest.fixture(params=["in-process", "redis"])
def settings(settings, request):
    """Each test here runs with the in-process notifier and with announcements over a real Redis."""
    if request.param == "redis":
        settings.update(REDIS_URL=request.getfixturevalue("redis_url"), RQ_QUEUE="eventhub-test")
    return settings


class EventStream:
    """A text/event-stream read line by line, as a browser's EventSource does."""

    def __init__(self, url: str, path: str, headers: dict | None = None):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        self.connection.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.socket = self.connection.sock  # kept: http.client lets go of it for a response read to its end
        self.response = self.connection.getresponse()

    def next_board(self, timeout: float) -> dict:
        """The data of the next `board` event; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        name, data = None, None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no board event within {timeout} s")
            self.socket.settimeout(left)
            line = self.response.readline().decode().rstrip("\n")
            if line.startswith("event:"):
                name = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data = json.loads(line.partition(":")[2])
            elif line == "" and name == "board":
                return data

    def close(self):
        self.connection.close()


@pytest.fixture
def town_hall(client, auth_headers):
    event = create_town_hall(client, auth_headers, title="Live town hall", attendees=people(3))
    tokens = list(links(event["id"]).values())
    question = client.post(f"/api/v1/ask/{tokens[0]}/questions", json={"text": "Will we go hybrid?"}).json["id"]
    return event, tokens, question


def test_a_vote_reaches_an_open_stream_within_a_second(live_server, client, town_hall):
    _, tokens, question = town_hall
    stream = EventStream(live_server, f"/api/v1/ask/{tokens[1]}/stream")
    try:
        assert stream.response.status == 200
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        first = stream.next_board(timeout=2)
        voted_at = time.monotonic()
        assert client.post(f"/api/v1/ask/{tokens[2]}/questions/{question}/vote").status_code == 200
        after = stream.next_board(timeout=1)
        assert time.monotonic() - voted_at < 1
        assert set(after) == {"version"} and after["version"] > first["version"]  # nothing but the version
    finally:
        stream.close()


def test_moderation_reaches_the_attendees_stream(live_server, client, town_hall, auth_headers):
    _, tokens, question = town_hall
    stream = EventStream(live_server, f"/api/v1/ask/{tokens[1]}/stream")
    try:
        stream.next_board(timeout=2)
        client.patch(f"/api/v1/questions/{question}", json={"answer": "Yes, from May."}, headers=auth_headers)
        stream.next_board(timeout=1)
    finally:
        stream.close()


def test_a_stream_needs_a_real_link_and_the_moderation_stream_a_signed_in_organizer(live_server, town_hall):
    event, _, _ = town_hall
    assert requests.get(f"{live_server}/api/v1/ask/not-a-link/stream", timeout=5).status_code == 404
    refused = requests.get(f"{live_server}/events/{event['id']}/questions/stream", timeout=5, allow_redirects=False)
    assert refused.status_code in (302, 401)


def test_past_the_limit_a_stream_answers_503_and_its_slot_comes_back(app, live_server, town_hall):
    """The page falls back to polling on 503; a stream that ends gives its slot back."""
    _, tokens, _ = town_hall
    app.extensions["eventhub_board_streams"] = StreamSlots(1)
    app.config["BOARD_STREAM_SECONDS"] = 1
    first = EventStream(live_server, f"/api/v1/ask/{tokens[0]}/stream")
    try:
        assert first.response.status == 200
        refused = requests.get(f"{live_server}/api/v1/ask/{tokens[1]}/stream", timeout=5)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
        assert refused.json()["error"]["code"]
        first.response.read()  # the stream ends after BOARD_STREAM_SECONDS
    finally:
        first.close()
    deadline = time.monotonic() + 3
    while app.extensions["eventhub_board_streams"].open and time.monotonic() < deadline:
        time.sleep(0.05)
    again = EventStream(live_server, f"/api/v1/ask/{tokens[1]}/stream")
    try:
        assert again.response.status == 200
    finally:
        again.close()


@pytest.mark.parametrize("settings", ["redis"], indirect=True)
def test_a_vote_through_one_gunicorn_process_reaches_a_stream_on_another(settings, app, client, town_hall,
                                                                         database_url, tmp_path):
    """Two gunicorn gthread processes, as `make run` starts them, announce to each other over Redis pub/sub."""
    _, tokens, question = town_hall
    sink, controller = start_sink()
    processes = Processes(tmp_path / "gunicorn.log")
    env = app_env(database_url, sink, settings["REDIS_URL"], RQ_QUEUE="eventhub-test")
    ports = [free_port(), free_port()]
    try:
        for port in ports:
            processes.web(env, port)
        stream = EventStream(f"http://127.0.0.1:{ports[0]}", f"/api/v1/ask/{tokens[1]}/stream")
        try:
            assert stream.response.status == 200, processes.log()
            first = stream.next_board(timeout=3)
            voted_at = time.monotonic()
            voted = requests.post(f"http://127.0.0.1:{ports[1]}/api/v1/ask/{tokens[2]}/questions/{question}/vote",
                                  timeout=5)
            assert voted.status_code == 200, processes.log()
            assert stream.next_board(timeout=1)["version"] > first["version"]
            assert time.monotonic() - voted_at < 1
            board = requests.get(f"http://127.0.0.1:{ports[0]}/api/v1/ask/{tokens[1]}", timeout=5).json()
            assert board["questions"][0]["votes"] == 1  # the other process's snapshot is the new one too
        finally:
            stream.close()
    finally:
        processes.stop_all()
        controller.stop()


@pytest.mark.parametrize("settings", ["in-process"], indirect=True)
def test_the_embedded_default_under_gunicorn_gthread_streams_a_vote_within_a_second(settings, app, client, town_hall,
                                                                                   database_url, tmp_path):
    """`make run`'s shape: one gunicorn process with threads, no Redis: the in-process notifier feeds the stream."""
    _, tokens, question = town_hall
    sink, controller = start_sink()
    processes = Processes(tmp_path / "gunicorn.log")
    port = free_port()
    try:
        processes.web(app_env(database_url, sink), port)
        base = f"http://127.0.0.1:{port}"
        stream = EventStream(base, f"/api/v1/ask/{tokens[1]}/stream")
        try:
            assert stream.response.status == 200, processes.log()
            first = stream.next_board(timeout=3)
            voted_at = time.monotonic()
            voted = requests.post(f"{base}/api/v1/ask/{tokens[2]}/questions/{question}/vote", timeout=5)
            assert voted.status_code == 200, processes.log()
            assert stream.next_board(timeout=1)["version"] > first["version"]
            assert time.monotonic() - voted_at < 1
            # meanwhile the other threads still serve
            assert requests.get(f"{base}/api/v1/ask/{tokens[1]}", timeout=5).json()["questions"][0]["votes"] == 1
        finally:
            stream.close()
    finally:
        processes.stop_all()
        controller.stop()
