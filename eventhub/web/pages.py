"""Organizer pages."""

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from eventhub.services.events import events_of

bp = Blueprint("pages", __name__)


@bp.route("/")
@login_required
def index():
    return render_template("pages/index.html", events=events_of(current_user))
