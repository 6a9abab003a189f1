"""Organizer pages."""

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("pages", __name__)


@bp.route("/")
@login_required
def index():
    return render_template("pages/index.html", events=[])
