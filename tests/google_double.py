"""A Google Calendar double served over real HTTP on loopback, and an app pointed at it with a real
service-account key file (its `token_uri` on the double, as google-auth honours it)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server


@contextlib.contextmanager
def google_serving(app, tmp_path, double) -> Iterator[object]:
    """Serve the WSGI `double` on loopback and configure `app` to write to it; yields the double."""
    server = make_server("127.0.0.1", 0, double, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": pem,
        "client_email": "eventhub@p.iam.gserviceaccount.com", "client_id": "1", "token_uri": f"{base}/token"}))
    app.config.update(GOOGLE_SERVICE_ACCOUNT_FILE=str(key_file), GOOGLE_CALENDAR_ID="townhalls@example.com",
                      GOOGLE_API_ENDPOINT=base)
    try:
        yield double
    finally:
        server.shutdown()
