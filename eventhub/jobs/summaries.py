"""Follow-up summaries: the draft when the town hall ends, and the fan-out to every attendee."""

from eventhub.services import summaries


def prepare_summary_draft(event_id: str) -> None:
    summaries.prepare_draft(event_id)


def send_summary(event_id: str) -> None:
    summaries.send_summary(event_id)
