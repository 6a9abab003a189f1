"""Fixtures on real parts: the database at TEST_DATABASE_URL (SQLite by default), Redis at TEST_REDIS_URL,
an aiosmtpd server on loopback, and a live HTTP server for the browser tests."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from redis import Redis
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from eventhub import create_app
from eventhub.extensions import db

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def database_file_bytes(path: Path) -> bytes:
    """A live SQLite file's bytes, read by another process. Opening and closing the file here would drop
    every POSIX lock this process's SQLite connections hold on it (closing any descriptor of a file does),
    and another process could then delete the write-ahead log and shared memory under them."""
    return subprocess.run(["cat", str(path)], capture_output=True, check=True, timeout=60).stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A database brought to the current schema by the migrations, once per test run."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test", "REDIS_URL": None})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return url


@pytest.fixture
def redis_url() -> str:
    """A real Redis database, emptied before each test."""
    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    yield TEST_REDIS_URL
    connection.flushdb()
    connection.close()


@pytest.fixture
def settings(database_url, tmp_path) -> dict:
    """Settings of a test app; tests add to them before asking for `app`."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "REDIS_URL": None,
        "SMTP_HOST": None,
        "EVENTHUB_BASE_URL": "http://eventhub.test",
        "MAIL_FROM": "townhall@eventhub.test",
        # No sweeping thread in a test's app, even one that turns TESTING off: tests drive the outbox
        # themselves (`jobs.wait_local()`, `dispatch.sweep()`), and the embedded default's thread is tested
        # in the processes that run it.
        "OUTBOX_SWEEP_SECONDS": 0,
    }


# Fixtures that change the settings an app is built with: whichever order a test names them in, they are
# applied before the app is made.
SETTINGS_FIXTURES = ("rq_settings", "fault_settings", "unreachable_redis")


def app_of(settings: dict, tmp_path):
    """Another app on these settings, its instance folder (mail outbox, keys) inside the test's own folder."""
    application = create_app(settings)
    application.instance_path = str(tmp_path / "instance")
    return application


@pytest.fixture
def app(settings, tmp_path, request):
    """A fresh app on an emptied database."""
    for name in SETTINGS_FIXTURES:
        if name in request.fixturenames:
            request.getfixturevalue(name)
    application = create_app(settings)
    application.instance_path = str(tmp_path / "instance")  # outbox and keys stay inside this test
    with application.app_context():
        _empty_tables()
        yield application
        # Its job thread must not outlive it: CPython 3.11 can fail building an AST (a template, a route) in one
        # thread while another builds one ("AST constructor recursion depth mismatch").
        application.extensions["eventhub_jobs"].close()
        application.extensions["eventhub_boards"].close()  # its relay thread must not outlive it either
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


def _empty_tables() -> None:
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


ORGANIZER_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def organizer_password_hash() -> str:
    """The organizer fixture's password hashed once per run: hashing is slow by design (about a tenth of a
    second), and half the tests make an organizer. Signing in still checks the password in full."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(ORGANIZER_PASSWORD)


@pytest.fixture
def organizer(app, organizer_password_hash):
    """An organizer and its API token."""
    from eventhub.services import organizers

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(organizers, "generate_password_hash", lambda password: organizer_password_hash)
        account, token = organizers.create_organizer("org@example.com", ORGANIZER_PASSWORD)
    return {"organizer": account, "token": token, "email": "org@example.com", "password": ORGANIZER_PASSWORD}


@pytest.fixture
def auth_headers(organizer) -> dict:
    return {"Authorization": f"Bearer {organizer['token']}"}


def csrf_of(page: str) -> str:
    """The CSRF token a page's form carries."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture
def signed_in(client, organizer):
    """The client signed in through the login form; yields the CSRF token its pages' forms carry."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": organizer["email"], "password": organizer["password"], "csrf_token": token})
    return csrf_of(client.get("/events/new").get_data(as_text=True))


class MailSink:
    """Collects what an aiosmtpd server receives; `refuse` maps an address to an SMTP answer."""

    def __init__(self):
        self.messages = []
        self.refuse: dict[str, str] = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope: Envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope):
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append({"to": list(envelope.rcpt_tos), "message": parsed})
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback; yields (sink, host, port)."""
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, "127.0.0.1", port
    finally:
        controller.stop()


@pytest.fixture
def mail(app, smtp_server):
    """Every email the app sends goes to a real SMTP server on loopback; yields what it received."""
    sink, host, port = smtp_server
    app.config.update(SMTP_HOST=host, SMTP_PORT=port)
    return sink


@pytest.fixture
def rq_settings(settings, redis_url):
    """Jobs go to RQ on a real Redis (the app is built with it, whatever order the test names them in)."""
    settings.update(REDIS_URL=redis_url, RQ_QUEUE="eventhub-test")
    return settings


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on loopback; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
