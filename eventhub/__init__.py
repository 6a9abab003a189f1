"""EventHub: fair town halls across time zones. `create_app` builds the Flask app; nothing runs at import.

Flask and the extensions are imported inside `create_app`, so `eventhub.domain` loads without them.
"""

from __future__ import annotations

import logging
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Scripts and styles come only from our own files, so text a user typed can never run as code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                    ("X-Frame-Options", "DENY"), ("Content-Security-Policy", CONTENT_SECURITY_POLICY))


def create_app(settings: dict | None = None):
    """The app, configured from the environment (and `.env`) with `settings` taking precedence."""
    from flask import Flask

    from eventhub import log_privacy
    from eventhub.config import load_settings
    from eventhub.extensions import (
        csrf,
        db,
        jobs,
        login_manager,
        migrate,
        ping_idle_connections,
        shared,
        use_sqlite_write_ahead_log,
    )

    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    config = load_settings(app.instance_path, settings)
    app.config.update(config)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=config["DATABASE_URL"],
        # hide_parameters: database errors in logs never show values (token hashes, question text).
        SQLALCHEMY_ENGINE_OPTIONS={"hide_parameters": True},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config["EVENTHUB_BASE_URL"].startswith("https://"),
        REMEMBER_COOKIE_SECURE=config["EVENTHUB_BASE_URL"].startswith("https://"),
        WTF_CSRF_TIME_LIMIT=config["CSRF_TOKEN_SECONDS"],
    )
    if config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address (which sign-in throttling counts) as the trusted proxies saw it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config["PROXY_HOPS"], x_proto=config["PROXY_HOPS"])
    app.json.sort_keys = False  # answers keep the contract's field order
    from eventhub.web.session_cookie import SessionCookies

    app.session_interface = SessionCookies()

    db.init_app(app)
    with app.app_context():
        use_sqlite_write_ahead_log(db.engine)
        ping_idle_connections(db.engine)  # a dropped connection is found without a round trip on every request
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    jobs.init_app(app)
    shared.init_app(app)
    from eventhub.services import board

    board.init_app(app)

    from eventhub import cli, models  # noqa: F401  (models register their tables)
    from eventhub.domain.calendar import EVERY_CHOICES
    from eventhub.domain.planner import pain_level
    from eventhub.jobs import dispatch
    from eventhub.jobs.answer_polling import start_in_process
    from eventhub.web import (
        api,
        attendee_upload,
        auth,
        board_stream,
        errors,
        events,
        pages,
        questions,
        responses,
        scheduling,
        summaries,
    )

    board_stream.init_app(app)
    for blueprint in (api.bp, scheduling.api, events.api, questions.api, summaries.api, board_stream.api):
        csrf.exempt(blueprint)  # the API authenticates by Bearer token, never by cookie
        app.register_blueprint(blueprint)
    for blueprint in (auth.bp, pages.bp, scheduling.pages, events.pages, questions.pages, summaries.pages,
                      responses.pages, board_stream.pages, attendee_upload.pages):
        app.register_blueprint(blueprint)
    app.add_template_filter(pain_level)
    app.jinja_env.globals["EVERY_CHOICES"] = EVERY_CHOICES  # the forms' "repeat every" choices
    app.register_blueprint(cli.bp)
    errors.register_error_handlers(app)
    dispatch.init_app(app)

    @app.before_request
    def start_outbox_sweeper():
        # Started by gunicorn.conf.py once a web worker runs; this covers `flask run` (never CLI commands).
        dispatch.start_in_process_sweeper(app)

    @app.after_request
    def security_headers(response):
        present = {name.lower() for name in response.headers.keys()}  # one pass, not one per header
        response.headers.extend([(name, value) for name, value in SECURITY_HEADERS if name.lower() not in present])
        return response

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_privacy.install()
    app.extensions["eventhub_answer_poller"] = start_in_process(app)
    return app
