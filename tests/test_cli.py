"""`flask --app wsgi ...` as an administrator runs it."""

import os
import subprocess
import sys

from tests.conftest import ROOT


def _flask(*args, database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test", "REDIS_URL": ""}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_organizer_create_prints_a_working_token_last(app, client, database_url):
    result = _flask("organizer", "create", "Admin@Example.com", "--password", "long enough pw",
                    database_url=database_url)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("token: eh_")
    token = last.removeprefix("token: ")
    assert client.get("/api/v1/jobs/none", headers={"Authorization": f"Bearer {token}"}).status_code == 404


def test_organizer_create_refuses_a_duplicate_or_a_bad_address(app, database_url):
    assert _flask("organizer", "create", "a@example.com", "--password", "long enough pw",
                  database_url=database_url).returncode == 0
    again = _flask("organizer", "create", "A@example.com", "--password", "long enough pw",
                   database_url=database_url)
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = _flask("organizer", "create", "not-an-address", "--password", "long enough pw",
                 database_url=database_url)
    assert bad.returncode != 0 and "email" in bad.stderr


def test_organizer_token_replaces_the_old_token(app, client, database_url):
    created = _flask("organizer", "create", "b@example.com", "--password", "long enough pw",
                     database_url=database_url)
    old = created.stdout.strip().splitlines()[-1].removeprefix("token: ")
    rotated = _flask("organizer", "token", "b@example.com", database_url=database_url)
    new = rotated.stdout.strip().splitlines()[-1].removeprefix("token: ")
    assert client.get("/api/v1/jobs/x", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get("/api/v1/jobs/x", headers={"Authorization": f"Bearer {new}"}).status_code == 404
