"""Anonymous questions: the attendee's board (`/api/v1/ask/<token>`, `/ask/<token>`) and moderation.

Attendee routes are authorised only by the personal token in the path; nothing here logs it.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from eventhub.domain.errors import InvalidField
from eventhub.domain.questions import TextTooLong, spreadsheet_safe
from eventhub.domain.statuses import QuestionStatus
from eventhub.services import questions
from eventhub.services.board_snapshot import etag
from eventhub.web.answers import board_answer, board_answer_json, moderation_answer
from eventhub.web.auth import api_event, organizer_required, page_event
from eventhub.web.errors import ApiError
from eventhub.web.openapi import (
    ATTENDEE_READ,
    ATTENDEE_WRITE,
    ORGANIZER_READ,
    ORGANIZER_WRITE,
    described,
    parse_body,
    shaped,
)
from eventhub.web.schemas.questions import (
    Board,
    BoardHeaders,
    MergeIn,
    ModeratedQuestion,
    ModerationIn,
    ModerationList,
    QuestionAsked,
    QuestionIn,
    VoteCount,
)

api = Blueprint("questions_api", __name__, url_prefix="/api/v1")
pages = Blueprint("questions", __name__)


def _board(token: str, reading: bool = False) -> questions.Board:
    try:
        return questions.Board(token, reading=reading)
    except questions.NotFound:
        raise ApiError(404, "No such link.") from None


def _attendee_action(action):
    """Run an attendee action, answering each refusal with its status."""
    try:
        return action()
    except questions.NotFound:
        raise ApiError(404, "No such question.") from None
    except questions.QuestionsClosed:
        raise ApiError(409, "Questions for this town hall are closed.") from None
    except questions.RateLimited as limited:
        raise ApiError(429, f"Too many requests from this link: {limited}.") from None
    except TextTooLong as too_long:
        raise ApiError(413, too_long.message, field=too_long.field) from None


@api.get("/ask/<token>")
@described(ok=(200, Board), errors=ATTENDEE_READ, headers=BoardHeaders, organizer=False, tags=("questions",),
           HTTP_304=(None, "the board is unchanged since the `ETag` given in `If-None-Match`"))
def board(token: str):
    """The link's board; `If-None-Match` with the current `ETag` answers 304 without building a body."""
    attendee_board = _board(token, reading=True)
    mine = attendee_board.my_votes()
    tag = etag(attendee_board.snapshot, attendee_board.open, mine)
    if request.if_none_match.contains(tag):
        response = Response(status=304)
    else:
        response = Response(board_answer_json(attendee_board.snapshot, attendee_board.open, mine),
                            mimetype="application/json")
    response.set_etag(tag)
    response.headers["Cache-Control"] = "private, no-cache"  # only this browser keeps it, and asks each time
    return response


@api.post("/ask/<token>/questions")
@described(json=QuestionIn, ok=(201, QuestionAsked), errors=ATTENDEE_WRITE, organizer=False, tags=("questions",))
def ask(token: str):
    """Ask a question anonymously; it waits for the moderator when moderation is on."""
    attendee_board = _board(token)
    text = parse_body(QuestionIn).text
    question = _attendee_action(lambda: attendee_board.ask(text))
    return shaped(QuestionAsked, {"id": question.id, "status": question.status}, 201)


@api.post("/ask/<token>/questions/<question_id>/vote")
@described(ok=(200, VoteCount), errors=(404, 409, 429, 503), organizer=False, tags=("questions",))
def vote(token: str, question_id: str):
    """Vote for a question; a second vote by the same link does not count."""
    attendee_board = _board(token)
    return shaped(VoteCount, {"votes": _attendee_action(lambda: attendee_board.vote(question_id))})


@api.delete("/ask/<token>/questions/<question_id>/vote")
@described(ok=(200, VoteCount), errors=(404, 409, 429, 503), organizer=False, tags=("questions",))
def unvote(token: str, question_id: str):
    """Take this link's vote back."""
    attendee_board = _board(token)
    return shaped(VoteCount, {"votes": _attendee_action(lambda: attendee_board.unvote(question_id))})


# --- moderation API --------------------------------------------------------------------------------------


@api.get("/events/<event_id>/questions")
@described(ok=(200, ModerationList), errors=ORGANIZER_READ, organizer=True, tags=("moderation",))
@organizer_required
def moderation_list(event_id: str):
    """Every question of the town hall, any status."""
    rows = questions.moderation_list(api_event(event_id))
    return shaped(ModerationList, {"questions": [moderation_answer(row) for row in rows]})


def _own_question(question_id: str):
    question = questions.question_of(g.organizer.id, question_id)
    if question is None:
        raise ApiError(404, "No such question.")
    return question


@api.patch("/questions/<question_id>")
@described(json=ModerationIn, ok=(200, ModeratedQuestion), errors=ORGANIZER_WRITE, organizer=True,
           tags=("moderation",))
@organizer_required
def moderate(question_id: str):
    """Approve, hide or answer a question."""
    question = _own_question(question_id)
    change = parse_body(ModerationIn)
    if not change.model_fields_set & {"status", "answer"}:
        raise ApiError(422, "Give a status or an answer.", field="status")
    answer = (change.answer or "") if "answer" in change.model_fields_set else None  # null takes it back
    try:
        questions.moderate(question, status=change.status, answer=answer)
    except TextTooLong as too_long:
        raise ApiError(413, too_long.message, field=too_long.field) from None
    return shaped(ModeratedQuestion, _row(question))


@api.post("/questions/<question_id>/merge")
@described(json=MergeIn, ok=(200, ModeratedQuestion), errors=ORGANIZER_WRITE, organizer=True, tags=("moderation",))
@organizer_required
def merge(question_id: str):
    """Fold a duplicate into another question; votes are united, nobody counted twice."""
    question = _own_question(question_id)
    try:
        target = questions.merge(question, parse_body(MergeIn).into)
    except questions.QuestionsClosed as closed:
        raise ApiError(409, f"{closed}.") from None
    return shaped(ModeratedQuestion, _row(target))


def _row(question) -> dict:
    return {"id": question.id, "text": question.text, "votes": questions.vote_count(question.id),
            "status": question.status, "answer": question.answer, "merged_into": question.merged_into}


# --- pages -----------------------------------------------------------------------------------------------


def _page_board(token: str, reading: bool = False) -> questions.Board:
    try:
        return questions.Board(token, reading=reading)
    except questions.NotFound:
        abort(404)


@pages.route("/ask/<token>", methods=["GET", "POST"])
def ask_page(token: str):
    attendee_board = _page_board(token, reading=request.method == "GET")
    status = 200
    if request.method == "POST":
        try:
            question = attendee_board.ask(request.form.get("text", ""))
        except InvalidField as invalid:
            flash(f"Your question was not sent: it {invalid.message}.", "error")
            status = 413 if isinstance(invalid, TextTooLong) else 422
        except questions.QuestionsClosed:
            flash("Questions for this town hall are closed.", "error")
            status = 409
        except questions.RateLimited:
            flash("You have asked a lot this hour; please wait a little before asking again.", "error")
            status = 429
        else:
            flash("Thank you: your question is waiting for the moderator." if question.status == QuestionStatus.PENDING
                  else "Thank you: your question is on the board.", "info")
            return redirect(url_for("questions.ask_page", token=token))
    board = board_answer(attendee_board.snapshot, attendee_board.open, attendee_board.my_votes())
    return render_template("questions/board.html", board=board, token=token,
                           typed=request.form.get("text", "") if status != 200 else ""), status


@pages.post("/ask/<token>/questions/<question_id>/<action>")
def vote_page(token: str, question_id: str, action: str):
    attendee_board = _page_board(token)
    try:
        if action == "vote":
            attendee_board.vote(question_id)
        elif action == "unvote":
            attendee_board.unvote(question_id)
        else:
            abort(404)
    except questions.NotFound:
        abort(404)
    except questions.QuestionsClosed:
        flash("Questions for this town hall are closed.", "error")
    except questions.RateLimited:
        flash("Too many votes from this link this hour.", "error")
    return redirect(url_for("questions.ask_page", token=token))


@pages.post("/events/<event_id>/questions/<question_id>")
@login_required
def moderate_page(event_id: str, question_id: str):
    event = page_event(event_id)
    question = questions.question_of(current_user.id, question_id)
    if question is None or question.event_id != event.id:
        abort(404)
    try:
        if request.form.get("action") == "merge":
            questions.merge(question, request.form.get("into", ""))
        else:
            questions.moderate(question, status=request.form.get("status") or None,
                               answer=request.form.get("answer"))
    except InvalidField as invalid:
        flash(f"{invalid.field}: {invalid.message}", "error")
    except questions.QuestionsClosed as closed:
        flash(f"Not merged: {closed}.", "error")
    return redirect(url_for("events.show_event", event_id=event.id) + "#questions")


@pages.get("/events/<event_id>/questions.csv")
@login_required
def export_questions(event_id: str):
    """The questions as CSV; text a spreadsheet would run as a formula is defused."""
    event = page_event(event_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["votes", "status", "question", "answer"])
    for row in questions.moderation_list(event):
        if row.merged_into is None:
            writer.writerow([row.votes, row.status, spreadsheet_safe(row.text), spreadsheet_safe(row.answer or "")])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="questions.csv"'})
