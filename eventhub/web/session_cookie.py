"""Flask's signed-cookie session, with its signer built once per key instead of once per request.

Flask builds an `itsdangerous` serializer for every request that has a secret key, whether or not the request
uses the session: on the attendee board, the busiest route (which never does), a noticeable share of the time.
"""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


class SessionCookies(SecureCookieSessionInterface):
    def __init__(self):
        self._signers: dict[tuple, object] = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        signer = self._signers.get(keys)
        if signer is None:
            signer = self._signers[keys] = super().get_signing_serializer(app)
        return signer
