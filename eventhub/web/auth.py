"""Organizer sign-in: `/login` and `/logout` pages (session cookie), and Bearer tokens for `/api/v1`."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from eventhub.extensions import login_manager
from eventhub.models import Organizer
from eventhub.services import organizers, sign_in
from eventhub.services.events import event_of
from eventhub.web.errors import ApiError, error_page

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


# A browser that signed in to an account before may still try it while the account is throttled.
KNOWN_BROWSER_COOKIE = "eventhub_known_browser"
KNOWN_BROWSER_SECONDS = 365 * 24 * 3600


@login_manager.user_loader
def load_organizer(session_id: str) -> Organizer | None:
    """The organizer of a session cookie, unless they signed out since it was issued (on any copy of it)."""
    return sign_in.organizer_of_session(session_id)


def _known_browser() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="eventhub-known-browser")


def _known_organizer_ids() -> frozenset[str]:
    try:
        ids = _known_browser().loads(request.cookies.get(KNOWN_BROWSER_COOKIE, ""))
    except BadSignature:
        return frozenset()
    return frozenset(i for i in ids if isinstance(i, str)) if isinstance(ids, list) else frozenset()


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so `?next=` cannot send someone to another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("pages.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if request.method == "POST":
        if not form.validate():
            status = 400
        else:
            known = _known_organizer_ids()
            try:
                organizer = sign_in.sign_in(form.email.data, form.password.data, request.remote_addr, known)
            except sign_in.SignInThrottled as throttled:
                flash(f"Too many failed sign-ins; please wait {throttled.retry_after} seconds.", "error")
                response = current_app.make_response((render_template("auth/login.html", form=form), 429))
                response.headers["Retry-After"] = str(throttled.retry_after)
                return response
            if organizer is not None:
                login_user(organizer)
                response = redirect(_safe_next(request.args.get("next")))
                remembered = sorted(known - {organizer.id})[:19] + [organizer.id]
                response.set_cookie(KNOWN_BROWSER_COOKIE, _known_browser().dumps(remembered),
                                    max_age=KNOWN_BROWSER_SECONDS, httponly=True, samesite="Lax",
                                    secure=current_app.config["SESSION_COOKIE_SECURE"])
                return response
            flash("That email and password do not match an organizer.", "error")
            status = 401
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    sign_in.end_sessions(current_user)
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.app_errorhandler(CSRFError)
def expired_form(error: CSRFError):
    """A form past `CSRF_TOKEN_SECONDS` (or not from our page): nothing is done. The sign-in page is shown
    again with a fresh form, an attendee goes back to their board (a tab left open for hours), other
    pages get the error page."""
    if request.endpoint == "auth.login":
        flash("The form expired; please sign in again.", "error")
        return render_template("auth/login.html", form=LoginForm(formdata=None)), 400
    if request.endpoint in ("questions.ask_page", "questions.vote_page") and request.view_args:
        flash("This page had expired, so nothing was sent; please try again.", "error")
        return redirect(url_for("questions.ask_page", token=request.view_args["token"]), 303)
    return error_page(400, "This form has expired; go back, reload the page and try again.")


def organizer_required(view):
    """API views: the organizer named by `Authorization: Bearer <token>` is `g.organizer`, else 401."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        organizer = organizers.find_by_token(token.strip()) if scheme.lower() == "bearer" else None
        if organizer is None:
            raise ApiError(401, "A valid 'Authorization: Bearer <token>' header is required.")
        g.organizer = organizer
        return view(*args, **kwargs)

    return wrapper


def api_event(event_id: str):
    """The API organizer's own town hall, or ApiError 404 (another organizer's is as good as missing)."""
    event = event_of(g.organizer, event_id)
    if event is None:
        raise ApiError(404, "No such town hall.")
    return event


def page_event(event_id: str):
    """The signed-in organizer's own town hall, or a 404 page."""
    event = event_of(current_user, event_id)
    if event is None:
        abort(404)
    return event
