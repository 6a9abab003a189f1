"""Independent readers of our calendars: libical (system python), Mozilla ical.js (Node), a real Radicale server.

None of these tests skips. A reader that is not installed FAILS with the install step that is missing:
    apt-get install python3-gi gir1.2-ical-3.0       libical's Python bindings for /usr/bin/python3
    apt-get install nodejs npm                        Node.js (20) to run ical.js
    npm ci --prefix tests/interop/js                  ical.js itself, from package-lock.json
Radicale and caldav come from requirements-dev.txt.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eventhub.domain.calendar import CalendarAttendee, CalendarEvent
from tests.conftest import free_port

HERE = Path(__file__).resolve().parent
JS_DIR = HERE / "js"
SYSTEM_PYTHON = "/usr/bin/python3"
DTSTAMP = datetime(2027, 1, 15, 12, tzinfo=UTC)
ATTENDEES = (CalendarAttendee("ana@example.com", "Ana Reyes"), CalendarAttendee("bo@example.com", "Bo"))

Expansion = list[tuple[datetime, datetime]]


# --- the events the interop tests send through every reader ---------------------------------------------


def town_hall(**changes) -> CalendarEvent:
    event = CalendarEvent(
        uid="townhall-7@eventhub.test", sequence=0, title="Q1 Town Hall", description="Ask at the link",
        organizer_email="ceo@example.com", organizer_name="Chief Executive", timezone="America/New_York",
        occurrences=(datetime(2027, 3, 2, 15, tzinfo=UTC),), duration_minutes=60, every=None,
        location="https://meet.google.com/abc-defg-hij",
    )
    return replace(event, **changes)


def weekly(first: datetime, count: int) -> tuple[datetime, ...]:
    return tuple(first + timedelta(weeks=week) for week in range(count))


def us_dst_series(**changes) -> CalendarEvent:
    """Tuesdays 14:00 UTC from 2 March to 30 November 2027, through the 14 March and 7 November US changes."""
    return town_hall(occurrences=weekly(datetime(2027, 3, 2, 14, tzinfo=UTC), 40), every="week", **changes)


def planned(event: CalendarEvent) -> Expansion:
    duration = timedelta(minutes=event.duration_minutes)
    return [(start, start + duration) for start in event.occurrences]


# --- libical ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def libical_errors() -> Callable[[bytes], list[str]]:
    """A function: .ics bytes -> libical's X-LIC-ERROR messages after its RFC 5546 restriction check."""
    if not Path(SYSTEM_PYTHON).exists():
        pytest.fail(f"{SYSTEM_PYTHON} is missing: libical is checked with Debian's python3 "
                    "(apt-get install python3 python3-gi gir1.2-ical-3.0)")

    def check(ics: bytes) -> list[str]:
        result = subprocess.run([SYSTEM_PYTHON, str(HERE / "libical_check.py")], input=ics,
                                capture_output=True, timeout=60)
        if result.returncode == 3:
            pytest.fail(result.stderr.decode().strip())
        assert result.returncode == 0, result.stderr.decode()
        return json.loads(result.stdout)["errors"]

    return check


# --- ical.js ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def icaljs_expand() -> Callable[[bytes], Expansion]:
    """A function: .ics bytes -> every occurrence's (start, end) in UTC as Mozilla ical.js expands it."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: ical.js runs under Node.js 20 (apt-get install nodejs npm)")
    if not (JS_DIR / "node_modules" / "ical.js").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("tests/interop/js/node_modules is missing and so is npm: run "
                        "`npm ci --prefix tests/interop/js` after installing npm")
        installed = subprocess.run([npm, "ci", "--prefix", str(JS_DIR), "--no-audit", "--no-fund"],
                                   capture_output=True, text=True, timeout=300)
        if installed.returncode != 0:
            pytest.fail(f"`npm ci --prefix tests/interop/js` failed:\n{installed.stderr[-2000:]}")

    def expand(ics: bytes) -> Expansion:
        result = subprocess.run([node, str(JS_DIR / "expand.mjs")], input=ics, capture_output=True, timeout=60)
        assert result.returncode == 0, f"ical.js failed: {result.stderr.decode()[-2000:]}"
        occurrences = json.loads(result.stdout)["occurrences"]
        return sorted((_instant(item["start"]), _instant(item["end"])) for item in occurrences)

    return expand


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# --- Radicale ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def radicale_url(tmp_path_factory) -> Iterator[str]:
    """A real Radicale server (no authentication, files in a temporary folder) on a free loopback port."""
    folder = tmp_path_factory.mktemp("radicale")
    port = free_port()
    log = (folder / "radicale.log").open("w")
    # `--config` with no value: no configuration file of this machine or user is read.
    server = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}", "--auth-type", "none",
         "--storage-filesystem-folder", str(folder / "collections"), "--logging-level", "warning", "--config"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_answering(server, url, folder / "radicale.log")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_until_answering(server: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"Radicale exited with {server.returncode}: {log.read_text()[-2000:]} "
                        "(is Radicale from requirements-dev.txt installed in the venv?)")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"Radicale did not answer on {url} within 20 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def caldav_principal(radicale_url):
    """The `caldav` client's principal on the Radicale server (finding it takes most of a second: once)."""
    import caldav

    with caldav.DAVClient(url=radicale_url, username="eventhub", password="unused") as client:
        yield client.principal()


@pytest.fixture
def caldav_calendar(caldav_principal):
    """A fresh, empty calendar collection on the Radicale server."""
    return caldav_principal.make_calendar(name="Town halls", cal_id=uuid.uuid4().hex)
