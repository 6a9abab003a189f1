"""Attendees added from a CSV file on `/events/new` and `/events/<id>`: read with or without a header, BOM,
CRLF and blank lines alike; a bad file names its row and column, adds nobody and sends nothing; only the
new people are invited."""

import io
import re
from collections import Counter

import pytest
from sqlalchemy import select

from eventhub.extensions import db, jobs
from eventhub.models import Attendee, Event
from eventhub.web.attendee_upload import MAX_UPLOAD_BYTES

TOWN_HALL = {"title": "All hands", "start": "2030-03-05T14:00:00Z", "timezone": "America/New_York",
             "groups": [{"name": "Manila", "timezone": "Asia/Manila"}],
             "attendees": [{"email": "ana@example.com", "name": "Ana", "group": "Manila"}]}


@pytest.fixture
def town_hall(client, auth_headers, mail):
    """A town hall whose one invite (Ana's) is already sent; the sink is emptied after it."""
    created = client.post("/api/v1/events", headers=auth_headers, json=TOWN_HALL).json
    jobs.wait_local()
    assert [item["to"] for item in mail.messages] == [["ana@example.com"]]
    mail.messages.clear()
    return created["id"]


def _upload(client, csrf, event_id, data: bytes, filename="people.csv"):
    answer = client.post(f"/events/{event_id}/attendees", data={
        "csrf_token": csrf, "attendees_file": (io.BytesIO(data), filename)}, content_type="multipart/form-data",
        follow_redirects=True)
    jobs.wait_local()
    return answer


def _attendees(event_id) -> dict:
    return {a.email: (a.name, a.group, a.timezone) for a in db.session.scalars(
        select(Attendee).where(Attendee.event_id == event_id))}


def test_a_file_with_a_header_in_any_order_bom_crlf_and_repeats_adds_the_new_people_and_invites_only_them(
        client, signed_in, town_hall, mail):
    data = ("\ufeffTimezone , E-mail,Group,Name\r\n"
            "\r\n"
            " , Bob@Example.com , Manila , Bob \r\n"
            "Europe/Paris,carla@example.com,,Carla\r\n"
            ",ana@example.com,Manila,Ana again\r\n"
            ",,,\r\n"
            ",BOB@example.com,,\r\n").encode()
    page = _upload(client, signed_in, town_hall, data).get_data(as_text=True)
    assert "2 added from the file; their invites are on their way (2 already on the list or repeated)." in page
    assert _attendees(town_hall) == {"ana@example.com": ("Ana", "Manila", "Asia/Manila"),
                                     "bob@example.com": ("Bob", "Manila", "Asia/Manila"),
                                     "carla@example.com": ("Carla", "", "Europe/Paris")}
    assert Counter(item["to"][0] for item in mail.messages) == {"bob@example.com": 1, "carla@example.com": 1}


def test_a_file_without_a_header_is_one_email_per_line(client, signed_in, town_hall, mail):
    page = _upload(client, signed_in, town_hall, b"dan@example.com\n\n  eve@example.com  \nana@example.com")
    assert "2 added from the file" in page.get_data(as_text=True)
    assert set(_attendees(town_hall)) == {"ana@example.com", "dan@example.com", "eve@example.com"}
    assert _attendees(town_hall)["dan@example.com"] == ("", "", "America/New_York")
    assert sorted(item["to"][0] for item in mail.messages) == ["dan@example.com", "eve@example.com"]


@pytest.mark.parametrize(("data", "message"), [
    (b"email,name\nok@example.com,Ok\nfine@example.com,Fine\nnot-an-address,X\n",
     "row 4, email: &#39;not-an-address&#39; is not a valid email address"),
    (b"ok@example.com\n\n\nx@\n", "row 4, email: &#39;x@&#39; is not a valid email address"),
    (b"email,timezone\nok@example.com,Mars/Base\n", "row 2, timezone: unknown time zone &#39;Mars/Base&#39;"),
    (b"email,name\nok@example.com,\"Two\nlines\"\n", "row 3, name: must be one line"),
    (b"ok@example.com\nb\xe9a@example.com\n", "row 2: the file is not UTF-8 text"),
    (b"email,phone\nok@example.com,123\n", "row 1: unknown column &#39;phone&#39;"),
    (b"name,group\nAna,Manila\n", "row 1: the header has no email column"),
    (b"email,email\nok@example.com,ok@example.com\n", "row 1: the column &#39;email&#39; is named twice"),
    (b"email,name\nok@example.com,Ok,surplus\n", "row 2: more cells than the columns email, name"),
    (b"ok@example.com\nnul\x00@example.com\n", "row 2, email: &#39;nul\\x00@example.com&#39; is not a valid"),
    (b"email\n" + b"x" * 200_000 + b"@example.com\n", "row 2: cannot be read as CSV (field larger than"),
    (b"\n\n", "choose a CSV file with at least one attendee"),
    (b"".join(b"p%05d@example.com\n" % n for n in range(10_001)),
     "row 10001: the file has more than 10,000 attendees"),
    (b"a@example.com," + b"x" * MAX_UPLOAD_BYTES, "the file is larger than 2 MiB"),
    (b"a@example.com\n" * 400_000, "the file is larger than 2 MiB"),
], ids=["bad email on row 4", "bad email after blank lines", "unknown zone", "two-line name", "not UTF-8",
        "unknown column", "no email column", "column twice", "surplus cell", "NUL", "huge cell", "empty", "10,001 rows",
        "over the byte cap", "over the request limit"])
def test_a_bad_file_names_its_row_and_adds_nobody(client, signed_in, town_hall, mail, data, message):
    answer = _upload(client, signed_in, town_hall, data)
    assert answer.status_code == 200
    assert f"Nobody was added: {message}" in answer.get_data(as_text=True)
    assert set(_attendees(town_hall)) == {"ana@example.com"}
    assert mail.messages == []


def test_ten_thousand_rows_are_taken(rq_settings, client, signed_in, auth_headers):
    # With RQ and no worker the invites wait in the queue: this test is about the file, not the mailing.
    event_id = client.post("/api/v1/events", headers=auth_headers, json=dict(TOWN_HALL, attendees=[])).json["id"]
    data = b"email,name\r\n" + b"".join(b"p%05d@example.com,P %d\r\n" % (n, n) for n in range(10_000))
    assert "10000 added from the file" in _upload(client, signed_in, event_id, data).get_data(as_text=True)
    assert len(_attendees(event_id)) == 10_000


def test_an_upload_without_the_csrf_token_or_signed_out_is_refused(client, organizer, signed_in, town_hall):
    file = {"attendees_file": (io.BytesIO(b"mallory@example.com\n"), "people.csv")}
    assert client.post(f"/events/{town_hall}/attendees", data=file,
                       content_type="multipart/form-data").status_code == 400
    client.post("/logout", data={"csrf_token": signed_in})
    file = {"csrf_token": signed_in, "attendees_file": (io.BytesIO(b"mallory@example.com\n"), "people.csv")}
    assert client.post(f"/events/{town_hall}/attendees", data=file,
                       content_type="multipart/form-data").status_code == 302
    assert set(_attendees(town_hall)) == {"ana@example.com"}


def test_a_cancelled_town_hall_takes_no_file(client, signed_in, town_hall, auth_headers, mail):
    client.delete(f"/api/v1/events/{town_hall}", headers=auth_headers)
    jobs.wait_local()
    mail.messages.clear()
    page = _upload(client, signed_in, town_hall, b"late@example.com\n").get_data(as_text=True)
    assert "Nobody was added: the town hall is cancelled" in page
    assert set(_attendees(town_hall)) == {"ana@example.com"} and mail.messages == []


def _new_event_form(csrf, **fields):
    return {"csrf_token": csrf, "title": "From a file", "occurrences": "2030-03-05T14:00:00Z",
            "timezone": "UTC", "duration_minutes": "60", "groups": "Manila, Asia/Manila", **fields}


def test_the_create_form_takes_a_file_beside_the_typed_attendees(client, signed_in, mail):
    data = b"\xef\xbb\xbfemail,group\r\nbob@example.com,Manila\r\nana@example.com,\r\n"
    answer = client.post("/events/new", data=_new_event_form(
        signed_in, attendees="ana@example.com, Ana", attendees_file=(io.BytesIO(data), "people.csv")),
        content_type="multipart/form-data")
    assert answer.status_code == 302
    jobs.wait_local()
    event = db.session.scalar(select(Event))
    assert _attendees(event.id) == {"ana@example.com": ("Ana", "", "UTC"),
                                    "bob@example.com": ("", "Manila", "Asia/Manila")}
    assert Counter(item["to"][0] for item in mail.messages) == {"ana@example.com": 1, "bob@example.com": 1}


def test_the_create_form_names_the_bad_row_and_creates_nothing(client, signed_in, mail):
    answer = client.post("/events/new", data=_new_event_form(
        signed_in, attendees_file=(io.BytesIO(b"ok@example.com\nwho?\n"), "people.csv")),
        content_type="multipart/form-data")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "row 2, email: &#39;who?&#39; is not a valid email address" in page
    assert "Choose the file again" in page
    assert db.session.scalar(select(Event)) is None and mail.messages == []


def test_the_create_form_past_the_request_limit_is_the_form_again_saying_why(client, signed_in, mail):
    answer = client.post("/events/new", data=_new_event_form(
        signed_in, attendees_file=(io.BytesIO(b"a@example.com\n" * 400_000), "people.csv")),
        content_type="multipart/form-data")
    assert answer.status_code == 413
    page = answer.get_data(as_text=True)
    assert "a file of attendees may hold at most 2 MiB" in page and 'name="title"' in page
    assert db.session.scalar(select(Event)) is None and mail.messages == []


def test_the_create_form_without_a_file_works_as_before(client, signed_in, mail):
    answer = client.post("/events/new", data=_new_event_form(signed_in, attendees="ana@example.com"))
    assert answer.status_code == 302
    jobs.wait_local()
    assert [item["to"] for item in mail.messages] == [["ana@example.com"]]


def test_with_scripts_off_the_event_page_reads_how_far_the_invites_are(client, signed_in, town_hall):
    _upload(client, signed_in, town_hall, b"bob@example.com\ncarla@example.com\n")
    page = client.get(f"/events/{town_hall}").get_data(as_text=True)
    assert '<span id="job-status">finished (3 of 3)</span>' in page
    assert re.search(r'<progress id="job-progress" max="3" value="3"[^>]*>3 of 3</progress>', page)
    assert "reload the page to see how far they are" not in page


def test_with_scripts_off_a_waiting_mailing_says_to_reload(rq_settings, client, signed_in, auth_headers):
    # With RQ and no worker the invites wait in the queue.
    event_id = client.post("/api/v1/events", headers=auth_headers, json=TOWN_HALL).json["id"]
    page = _upload(client, signed_in, event_id, b"bob@example.com\n").get_data(as_text=True)
    assert '<span id="job-status">queued (0 of 0)</span>' in page
    assert "<noscript><p class=\"hint\">The invites are going out: reload the page" in page
