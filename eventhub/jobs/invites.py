"""Invitation and cancellation emails (and the Google Calendar copy) for one town hall."""

from eventhub.services import invites


def deliver_invites(event_id: str) -> None:
    invites.deliver_invites(event_id)
