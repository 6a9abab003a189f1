"""Attendees from an uploaded CSV file, on the organizer's pages `/events/new` and `/events/<id>`.

A file is read bounded (MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS), as UTF-8 with or without a BOM, with a header row
naming the API's attendee fields in any order or, without one, one attendee per line (`email, name, group,
timezone`, only the email required). Each row is checked by the same rules as the API's attendee objects; a
problem raises InvalidField(FIELD) whose message names the row and the column.
"""

from __future__ import annotations

import csv
import io
import re

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import login_required
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from eventhub.domain.errors import InvalidField
from eventhub.domain.events import MAX_ATTENDEES, parse_attendee_additions
from eventhub.services import events as event_service
from eventhub.web.auth import page_event

FIELD = "attendees_file"  # the file input's name on both pages
COLUMNS = ("email", "name", "group", "timezone")  # as the API names an attendee's fields
MAX_UPLOAD_ROWS = MAX_ATTENDEES
MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # ample for 10,000 rows; below the request limit, so the page can say why
_ALIASES = {"emailaddress": "email", "zone": "timezone"}
_ROW_FIELD = re.compile(r"attendees\[(\d+)\](?:\.(\w+))?")

pages = Blueprint("attendee_upload", __name__)


def attendees_from_upload(upload: FileStorage | None) -> list[dict]:
    """The attendees of an uploaded file as the API's attendee objects, each checked; [] if no file was chosen."""
    if upload is None or not upload.filename:
        return []
    data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidField(FIELD, f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB; "
                                  f"split it into files of at most {MAX_UPLOAD_ROWS:,} rows")
    return read_attendee_csv(data)


def read_attendee_csv(data: bytes) -> list[dict]:
    """The attendee objects of a CSV file's bytes. Blank lines are skipped, cells stripped; an email listed
    twice stays in the list (adding attendees merges repeats)."""
    lines, items = [], []
    columns: tuple[str | None, ...] | None = None
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    try:
        for raw in reader:
            cells = [cell.strip() for cell in raw]
            if not any(cells):
                continue
            if columns is None:
                columns = _header(cells, reader.line_num)
                if columns is not None:
                    continue
                columns = COLUMNS
            if len(items) == MAX_UPLOAD_ROWS:
                raise InvalidField(FIELD, f"row {reader.line_num}: the file has more than {MAX_UPLOAD_ROWS:,} "
                                          "attendees; split it into several uploads")
            items.append(_attendee(cells, columns, reader.line_num))
            lines.append(reader.line_num)
    except csv.Error as error:
        raise InvalidField(FIELD, f"row {reader.line_num}: cannot be read as CSV ({error})") from None
    try:
        parse_attendee_additions({"attendees": items}, (), "UTC")  # the API's checks, to name the row now
    except InvalidField as invalid:
        raise _on_row(invalid, lines) from None
    return items


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data[:error.start].count(b"\n") + 1
        raise InvalidField(FIELD, f"row {row}: the file is not UTF-8 text; save it as \"CSV UTF-8\"") from None


def _header(cells: list[str], line: int) -> tuple[str | None, ...] | None:
    """The columns a header row names, or None when the first row is already an attendee."""
    names = [_ALIASES.get(key, key) for key in (re.sub(r"[\s_-]+", "", cell.lower()) for cell in cells)]
    if not set(names) & set(COLUMNS):
        return None
    for cell, name in zip(cells, names, strict=True):
        if name and name not in COLUMNS:
            raise InvalidField(FIELD, f"row {line}: unknown column {cell[:40]!r}; the columns are "
                                      f"{', '.join(COLUMNS)}")
        if name and names.count(name) > 1:
            raise InvalidField(FIELD, f"row {line}: the column {name!r} is named twice")
    if "email" not in names:
        raise InvalidField(FIELD, f"row {line}: the header has no email column")
    return tuple(name or None for name in names)


def _attendee(cells: list[str], columns: tuple[str | None, ...], line: int) -> dict:
    if any(cells[len(columns):]) or any(cell for cell, name in zip(cells, columns, strict=False) if name is None):
        raise InvalidField(FIELD, f"row {line}: more cells than the columns {', '.join(c for c in columns if c)}")
    item = {name: cell for name, cell in zip(columns, cells, strict=False) if name}
    item.setdefault("email", "")
    if not item.get("timezone"):
        item.pop("timezone", None)  # none given: the group's zone, else the town hall's
    return item


def _on_row(invalid: InvalidField, lines: list[int]) -> InvalidField:
    """The API's `attendees[3].email` as the file's row and column."""
    match = _ROW_FIELD.fullmatch(invalid.field)
    if match is None:
        return InvalidField(FIELD, invalid.message)
    column = f", {match.group(2)}" if match.group(2) else ""
    return InvalidField(FIELD, f"row {lines[int(match.group(1))]}{column}: {invalid.message}")


@pages.post("/events/<event_id>/attendees")
@login_required
def upload_attendees(event_id: str):
    """Add the attendees of an uploaded file to a town hall; only the new ones are invited."""
    event = page_event(event_id)
    try:
        items = attendees_from_upload(request.files.get(FIELD))
        if not items:
            raise InvalidField(FIELD, "choose a CSV file with at least one attendee")
        groups = tuple((group.name, group.timezone) for group in event.groups)
        added, _ = event_service.add_attendees(event, parse_attendee_additions({"attendees": items}, groups,
                                                                               event.timezone))
    except InvalidField as invalid:
        flash(f"Nobody was added: {invalid.message}", "error")
    else:
        others = len(items) - added
        flash(f"{added} added from the file; their invites are on their way"
              + (f" ({others} already on the list or repeated)." if others else "."), "info")
    return redirect(url_for("events.show_event", event_id=event.id))


@pages.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge):
    """A file past the request limit is refused before it is read: said on the event page, as any bad file."""
    flash(f"Nobody was added: the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB; split it into "
          f"files of at most {MAX_UPLOAD_ROWS:,} rows", "error")
    return redirect(url_for("events.show_event", event_id=request.view_args["event_id"]))
