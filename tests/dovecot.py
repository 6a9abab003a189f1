"""A real IMAP server for tests: Debian's Dovecot on loopback, run with a config file of its own in a fresh
folder (no system service, no root login process), one mailbox user with a plain password."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "townhall", "imap-test-password"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:{dir}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


class Dovecot:
    """One running server; `append` puts a message into a folder as a mail program's APPEND would."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port, self.host = folder, port, "127.0.0.1"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        owner = pwd.getpwnam("dovecot")
        for sub in ("run", "state", "mail"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        (self.folder / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        os.chmod(self.folder, 0o755)
        os.chown(self.folder / "mail", owner.pw_uid, owner.pw_gid)
        config = self.folder / "dovecot.conf"
        config.write_text(CONFIG.format(dir=self.folder, uid=owner.pw_uid, gid=owner.pw_gid, port=self.port))
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot stopped: {self.process.stderr.read().decode()} {self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as probe:
                    if probe.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def settings(self) -> dict:
        return {"IMAP_HOST": self.host, "IMAP_PORT": self.port, "IMAP_USER": USER, "IMAP_PASSWORD": PASSWORD,
                "IMAP_TLS": "none", "IMAP_FOLDER": "INBOX"}

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port)
        client.login(USER, PASSWORD)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.connect()
        try:
            status, _ = client.append(folder, None, None, raw)
            assert status == "OK"
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> list[set[str]]:
        """The flags of every message in `folder`, in order."""
        client = self.connect()
        try:
            client.select(folder, readonly=True)
            _, data = client.fetch("1:*", "(FLAGS)")
            found = []
            for item in data:
                if not item:
                    continue
                text = item.decode() if isinstance(item, bytes) else item[0].decode()
                inside = text.split("FLAGS (", 1)[1].split(")", 1)[0]
                found.append(set(inside.split()))
            return found
        finally:
            client.logout()
