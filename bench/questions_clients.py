"""What `bench_questions` sends and reads over HTTP besides wrk's load (64 concurrent voters, each link's ETag,
one question), what it reads from the server's log, and the board announcements it counts on Redis."""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

VOTERS = 64


# ---------------------------------------------------------------- 64 concurrent voters on one question


def concurrent_voters(base_url: str, tokens: list[str], question_id: str) -> tuple[Counter, int]:
    """VOTERS threads, one link each, released together; each votes twice. Returns (statuses, board count)."""
    parts = urlsplit(base_url)
    barrier = threading.Barrier(VOTERS)
    statuses: Counter = Counter()
    lock = threading.Lock()

    def voter(token: str):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        barrier.wait()
        for _ in range(2):
            try:
                conn.request("POST", f"/api/v1/ask/{token}/questions/{question_id}/vote")
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                status, conn = type(error).__name__, http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            with lock:
                statuses[status] += 1
        conn.close()

    threads = [threading.Thread(target=voter, args=(token,)) for token in tokens[:VOTERS]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", f"/api/v1/ask/{tokens[VOTERS]}")
        board = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    votes = next((q["votes"] for q in board["questions"] if q["id"] == question_id), -1)
    return statuses, votes


def current_etags(base_url: str, tokens: list[str]) -> list[str]:
    """Each link's board ETag, as its page would hold it after its last refresh."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    tags = []
    try:
        for token in tokens:
            conn.request("GET", f"/api/v1/ask/{token}")
            response = conn.getresponse()
            response.read()
            tags.append(response.headers.get("ETag") or "")
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    finally:
        conn.close()
    return tags


def ask_one(base_url: str, token: str, text: str) -> str:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", f"/api/v1/ask/{token}/questions", body=json.dumps({"text": text}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 201:
        raise RuntimeError(f"asking failed: {response.status} {body[:300]!r}")
    return json.loads(body)["id"]


# ---------------------------------------------------------------- server errors, from the server's own log


def server_errors(log_path: Path) -> Counter:
    """Unhandled errors and worker timeouts in the server's log, counted by where and the exception's last line."""
    found: Counter = Counter()
    if not log_path.exists():
        return found
    text = log_path.read_text(errors="replace")
    for block in re.split(r"(?=^\S.*unhandled error on )", text, flags=re.M)[1:]:
        where = re.search(r"unhandled error on (\S+ \S+)", block).group(1)
        last = [line for line in block.split("\n")[1:] if re.match(r"^[\w.]+(Error|Exception|Timeout)\b", line)]
        found[f"{where}: {last[-1][:200] if last else 'see the log'}"] += 1
    timeouts = len(re.findall(r"WORKER TIMEOUT", text))
    if timeouts:
        found["gunicorn WORKER TIMEOUT (a worker killed mid-request)"] += timeouts
    return found


# ---------------------------------------------------------------- board announcements on Redis


class Announcements:
    """How many messages Redis published while open (its own count of PUBLISH calls, scripts' included):
    during the vote runs only the votes' board announcements publish, so this is what a burst cost."""

    def __init__(self, redis_url: str):
        from redis import Redis

        self._redis = Redis.from_url(redis_url)
        self._before = self._published()

    def _published(self) -> int:
        return int(self._redis.info("commandstats").get("cmdstat_publish", {}).get("calls", 0))

    def close(self) -> int:
        try:
            return self._published() - self._before
        finally:
            self._redis.close()
