"""Flask's signed-cookie session, with its signer built once per key instead of once per request, and no
session at all on the attendee links' API.

Flask builds an `itsdangerous` serializer for every request that has a secret key, whether or not the request
uses the session: on the attendee board, the busiest route (which never does), a noticeable share of the time.
A personal link's API (`/api/v1/ask/<token>...`) is anonymous by design: it never reads an organizer's
sign-in cookie and never sets one, so its requests get Flask's null session (opening and saving the cookie
session was about a sixth of a board read).
"""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface

ANONYMOUS_PATHS = ("/api/v1/ask/",)  # the attendee links' API: no session is opened or saved


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

    def open_session(self, app, request):
        if request.path.startswith(ANONYMOUS_PATHS):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if self.is_null_session(session):
            return
        super().save_session(app, session, response)
