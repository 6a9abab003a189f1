"""The states a town hall, a question, a summary and a message can be in: the one place their names are written.

Each is a `StrEnum`, so a stored value reads back as the same string and compares equal to it.
"""

from __future__ import annotations

import enum


class EventStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"  # for good: attendees were sent METHOD:CANCEL, nothing changes it again


class QuestionStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the moderator
    VISIBLE = "visible"
    HIDDEN = "hidden"  # taken off the board (or merged into another)
    ANSWERED = "answered"


ON_THE_BOARD = (QuestionStatus.VISIBLE, QuestionStatus.ANSWERED)
MODERATOR_CHOICES = (QuestionStatus.VISIBLE, QuestionStatus.HIDDEN, QuestionStatus.ANSWERED)


class SummaryStatus(enum.StrEnum):
    DRAFT = "draft"
    SENDING = "sending"  # its mailing is in the outbox; sending again resumes for those not yet served
    SENT = "sent"  # everyone was served or refused for good


class DeliveryStatus(enum.StrEnum):
    """One message to one attendee (a `deliveries` row)."""

    SENDING = "sending"  # its batch is going out: not yet accepted, so a crash sends it again
    SENT = "sent"  # accepted by the mail server
    DEFERRED = "deferred"  # refused for now: tried again on the retry schedule
    FAILED = "failed"  # refused for good


FINAL_DELIVERY = (DeliveryStatus.SENT, DeliveryStatus.FAILED)  # nothing more to try
