"""`flask --app wsgi organizer ...` commands."""

import click
from flask import Blueprint

from eventhub.domain.errors import InvalidField
from eventhub.services import organizers

bp = Blueprint("organizer", __name__, cli_group="organizer")


@bp.cli.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create(email: str, password: str) -> None:
    """Create an organizer; the last line printed is `token: <API token>`."""
    try:
        organizer, token = organizers.create_organizer(email, password)
    except InvalidField as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from None
    click.echo(f"organizer {organizer.email} created")
    click.echo(f"token: {token}")


@bp.cli.command("token")
@click.argument("email")
def new_token(email: str) -> None:
    """Issue a new API token for an organizer; the old one stops working."""
    organizer = organizers.find_by_email(email)
    if organizer is None:
        raise click.ClickException(f"no organizer with email {email}")
    click.echo(f"token: {organizers.rotate_token(organizer)}")
