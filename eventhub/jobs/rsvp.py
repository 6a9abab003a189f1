"""Attendees' answers: the organizer's mailbox read, and Google Calendar's responseStatus merged."""

from eventhub.services import rsvp


def read_mailbox() -> None:
    rsvp.poll_mailbox()


def read_google_responses() -> None:
    rsvp.merge_google_responses()
