"""A real IMAP server (Dovecot on loopback) for the tests that read the organizer's mailbox."""

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.dovecot import Dovecot


@pytest.fixture
def imap(app):
    """A fresh Dovecot with an empty mailbox; the app reads it (IMAP_TLS none: loopback only)."""
    # Not under pytest's tmp_path: its folders are private to root, and Dovecot's mail processes are not root.
    folder = Path(tempfile.mkdtemp(prefix="eventhub-dovecot-"))
    server = Dovecot(folder, free_port())
    server.start()
    app.config.update(server.settings())
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
