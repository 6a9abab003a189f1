"""Real processes for the failure tests: a private redis-server, a private PostgreSQL cluster, gunicorn
serving the app and `python worker.py`, each started, stopped and killed (SIGKILL) as a crash would."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests
from aiosmtpd.controller import Controller

from tests.conftest import ROOT, MailSink, free_port


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    """Poll `condition` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


class SlowSink(MailSink):
    """A mail server that takes a moment per message and can refuse everyone for a while."""

    def __init__(self, delay: float = 0.0):
        super().__init__()
        self.delay = delay
        self.refuse_all_until = 0.0
        self.refused = 0  # recipients refused so far (a test can wait for an attempt to have been made)
        self.in_data = self.most_at_once = 0  # messages being received now, and the most at any moment

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if time.monotonic() < self.refuse_all_until:
            self.refused += 1
            return "451 4.3.0 Try again later"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        self.in_data += 1
        self.most_at_once = max(self.most_at_once, self.in_data)
        try:
            await asyncio.sleep(self.delay)
            return await super().handle_DATA(server, session, envelope)
        finally:
            self.in_data -= 1

    def recipients(self, subject_prefix: str = "") -> Counter:
        """How many messages each address got, of those whose subject starts with `subject_prefix`."""
        with self.lock:
            return Counter(item["to"][0] for item in self.messages
                           if item["message"]["Subject"].strip().startswith(subject_prefix))


@contextlib.contextmanager
def mail_server_for(app, handler: MailSink):
    """`handler` served on a loopback port of its own, the app's mail going to it, until the block ends."""
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=handler.port)
    try:
        yield handler
    finally:
        controller.stop()


def start_sink(delay: float = 0.0) -> tuple[SlowSink, Controller]:
    handler = SlowSink(delay)
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    return handler, controller


class PrivateRedis:
    """A redis-server of this test's own, without persistence: stopped, it comes back empty."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self._answers, 10, "redis-server to answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _answers(self) -> bool:
        from redis import Redis

        try:
            return Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
        except Exception:
            return False


class PrivatePostgres:
    """A PostgreSQL cluster made with initdb in a temporary folder, on its own port; it runs as the
    `postgres` user when the tests run as root (PostgreSQL refuses to run as root)."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("PostgreSQL's server binaries are not installed (scripts/test-services.sh does it)")
        self.bin = Path(found[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="eventhub-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


def app_env(database_url: str, sink: SlowSink, redis_url: str | None = None, **extra: str) -> dict:
    """The environment a service process of these tests runs with."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TEST_", "REDIS_", "SMTP_"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY="test-secret", SMTP_HOST="127.0.0.1", SMTP_PORT=str(sink.port),
               MAIL_FROM="townhall@eventhub.test", EVENTHUB_BASE_URL="http://eventhub.test", RQ_QUEUE="eventhub-faults",
               FAN_OUT_LEASE_SECONDS="3", OUTBOX_SWEEP_SECONDS="0.5", SUMMARY_RETRY_INTERVALS="1,1,2,2,3",
               INVITE_RETRY_INTERVALS="1,1,2,2,3")
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


class Processes:
    """The service's own processes, with one log; everything still running is killed at the end."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.running: list[subprocess.Popen] = []

    def _spawn(self, command: list[str], env: dict) -> subprocess.Popen:
        with self.log_path.open("a") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.running.append(process)
        return process

    def worker(self, env: dict) -> subprocess.Popen:
        return self._spawn([sys.executable, "worker.py"], env)

    def web(self, env: dict, port: int) -> subprocess.Popen:
        """gunicorn as `make run` starts it (one process, threads), answering on `port`."""
        process = self._spawn([str(Path(sys.executable).parent / "gunicorn"), "--workers", "1", "--threads", "4",
                               "--bind", f"127.0.0.1:{port}", "wsgi:app"], env)
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/api/v1/health"), 30, "gunicorn to answer")
        return process

    def kill_hard(self, process: subprocess.Popen) -> None:
        """SIGKILL the process and every process it started (a worker's horse is in a group of its own)."""
        for pid in [*_descendants(process.pid), process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                self.kill_hard(process)

    def log(self, tail: int = 8000) -> str:
        return self.log_path.read_text()[-tail:] if self.log_path.exists() else ""


def stop_gently(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, as a service manager stops a process, and SIGKILL if it has not gone within `timeout`."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _descendants(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return [grandchild for child in children for grandchild in _descendants(child)] + children


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
        return True
    except requests.RequestException:
        return False
