"""Organizer sign-in: `/login` and `/logout` pages (session cookie), and Bearer tokens for `/api/v1`."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from eventhub.extensions import db, login_manager
from eventhub.models import Organizer
from eventhub.services import organizers
from eventhub.services.events import event_of
from eventhub.web.errors import ApiError

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


@login_manager.user_loader
def load_organizer(organizer_id: str) -> Organizer | None:
    return db.session.get(Organizer, organizer_id)


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
        elif (organizer := organizers.authenticate(form.email.data, form.password.data)) is not None:
            login_user(organizer)
            return redirect(_safe_next(request.args.get("next")))
        else:
            flash("That email and password do not match an organizer.", "error")
            status = 401
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


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
