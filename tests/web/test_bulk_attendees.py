"""`POST /api/v1/events/<id>/attendees`: attendees added in pages of up to 10,000, and only they invited."""

from collections import Counter

from eventhub.extensions import jobs
from tests.factories import create_town_hall

TOWN_HALL = {"title": "All hands", "start": "2030-03-05T14:00:00Z", "timezone": "America/New_York",
             "groups": [{"name": "Manila", "timezone": "Asia/Manila"}],
             "attendees": [{"email": "ana@example.com", "group": "Manila"}]}


def _created(client, headers):
    return create_town_hall(client, headers, sent=True, **TOWN_HALL)


def test_added_attendees_are_invited_and_nobody_else(client, auth_headers, mail):
    created = _created(client, auth_headers)
    answer = client.post(f"/api/v1/events/{created['id']}/attendees", headers=auth_headers, json={"attendees": [
        {"email": "bob@example.com", "group": "Manila"}, {"email": "ana@example.com"}, {"email": "BOB@example.com"}]})
    assert answer.status_code == 202 and answer.json["attendees"] == 2
    jobs.wait_local()
    assert Counter(item["to"][0] for item in mail.messages) == {"ana@example.com": 1, "bob@example.com": 1}
    rows = client.get(f"/api/v1/events/{created['id']}/attendees", headers=auth_headers).json["attendees"]
    bob = next(row for row in rows if row["email"] == "bob@example.com")
    assert bob["timezone"] == "Asia/Manila" and bob["invite"]["status"] == "sent"


def test_a_page_of_ten_thousand_is_taken_and_one_more_is_refused_naming_the_field(rq_settings, client,
                                                                                 auth_headers):
    # With RQ and no worker the invites wait in the queue: this test is about the list, not the mailing.
    created = create_town_hall(client, auth_headers, **dict(TOWN_HALL, attendees=[]))
    page = [{"email": f"p{n:05d}@example.com"} for n in range(10_000)]
    answer = client.post(f"/api/v1/events/{created['id']}/attendees", headers=auth_headers, json={"attendees": page})
    assert answer.status_code == 202 and answer.json["attendees"] == 10_000
    too_many = client.post(f"/api/v1/events/{created['id']}/attendees", headers=auth_headers,
                           json={"attendees": page + [{"email": "one-more@example.com"}]})
    assert too_many.status_code == 422 and too_many.json["error"]["field"] == "attendees"


def test_adding_to_a_cancelled_town_hall_is_a_conflict_and_bad_rows_name_their_field(client, auth_headers):
    created = _created(client, auth_headers)
    bad = client.post(f"/api/v1/events/{created['id']}/attendees", headers=auth_headers,
                      json={"attendees": [{"email": "ok@example.com"}, {"email": "not an address"}]})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "attendees[1].email"
    assert client.get(f"/api/v1/events/{created['id']}", headers=auth_headers).json["attendees"] == 1
    client.delete(f"/api/v1/events/{created['id']}", headers=auth_headers)
    refused = client.post(f"/api/v1/events/{created['id']}/attendees", headers=auth_headers,
                          json={"attendees": [{"email": "late@example.com"}]})
    assert refused.status_code == 409
