"""The question window: the reminder a day before it closes, and the close."""

from eventhub.services import question_window, storage_order


def send_question_reminder(event_id: str) -> None:
    question_window.send_question_reminder(event_id)


def close_questions(event_id: str) -> None:
    question_window.close_questions(event_id)


def reorder_question_storage() -> None:
    storage_order.reorder_question_storage()
