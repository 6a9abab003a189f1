"""The burden ledger through the API, on the real database: town halls the organizer created count."""

from datetime import UTC, datetime, timedelta

from eventhub.extensions import db, jobs
from eventhub.models import Event, EventGroup, Occurrence
from tests.factories import create_town_hall

NEW_YORK = {"name": "New York", "timezone": "America/New_York", "work_start": "09:00", "work_end": "17:00"}
MANILA = {"name": "Manila", "timezone": "Asia/Manila", "work_start": "09:00", "work_end": "18:00"}
GROUPS = [{"name": "Manila", "timezone": "Asia/Manila"}, {"name": "New York", "timezone": "America/New_York"}]
MANILA_MIDNIGHT = "2030-03-04T16:00:00Z"  # Monday 11:00 in New York, Tuesday 00:00 in Manila
ASK = {"groups": [NEW_YORK, MANILA], "duration_minutes": 60, "from": "2030-03-11T00:00:00Z",
       "to": "2030-03-16T00:00:00Z", "limit": 5}


def _town_hall(client, headers, start=MANILA_MIDNIGHT, **changes) -> str:
    return create_town_hall(client, headers, sent=True, start=start, duration_minutes=60,
                            timezone="America/New_York", groups=GROUPS, attendees=[], **changes)["id"]


def _stored_town_hall(organizer, start: datetime) -> None:
    """A town hall in the past (the API only takes future ones), written as the service stores it."""
    event = Event(organizer_id=organizer.id, title="Earlier", timezone="America/New_York", duration_minutes=60,
                  questions_close=start, status="scheduled")
    event.occurrences = [Occurrence(start=start)]
    event.groups = [EventGroup(name=g["name"], timezone=g["timezone"]) for g in GROUPS]
    db.session.add(event)
    db.session.commit()


def _suggest(client, headers, **changes):
    response = client.post("/api/v1/suggestions", json={**ASK, **changes}, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_a_town_hall_at_manilas_midnight_tips_the_next_suggestion_towards_manila(client, auth_headers):
    before = _suggest(client, auth_headers)
    assert before["ledger"] == [{"name": "New York", "pain": 0.0, "events": 0},
                                {"name": "Manila", "pain": 0.0, "events": 0}]
    _town_hall(client, auth_headers)
    after = _suggest(client, auth_headers)
    # 00:00-01:00 in Manila: 6 h past its 18:00 end (weight 7 a minute) and night (20,000 a minute)
    assert after["ledger"] == [{"name": "New York", "pain": 0.0, "events": 1},
                               {"name": "Manila", "pain": 20007.0, "events": 1}]
    best = after["suggestions"][0]
    assert best["groups"][1]["pain"] == 0.0 and not best["groups"][0]["night"]
    assert before["suggestions"][0]["groups"][1]["pain"] > 0


def test_history_false_forgets_and_answers_no_ledger(client, auth_headers):
    _town_hall(client, auth_headers)
    fresh = _suggest(client, auth_headers, history=False)
    assert "ledger" not in fresh
    assert fresh["suggestions"][0]["groups"][1]["pain"] > 0


def test_cancelled_town_halls_and_other_organizers_do_not_count(client, auth_headers):
    from eventhub.services.organizers import create_organizer

    event_id = _town_hall(client, auth_headers)
    assert client.delete(f"/api/v1/events/{event_id}", headers=auth_headers).status_code < 300
    jobs.wait_local()
    _, other_token = create_organizer("other@example.com", "another long password")
    _town_hall(client, {"Authorization": f"Bearer {other_token}"})
    assert [entry["events"] for entry in _suggest(client, auth_headers)["ledger"]] == [0, 0]


def test_the_default_window_is_the_last_twelve_months_and_a_request_may_set_its_own(client, auth_headers, organizer):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    _stored_town_hall(organizer["organizer"], now - timedelta(days=30))
    _stored_town_hall(organizer["organizer"], now - timedelta(days=400))
    _town_hall(client, auth_headers)  # already scheduled: counts too
    assert [e["events"] for e in _suggest(client, auth_headers)["ledger"]] == [2, 2]
    window = {"from": (now - timedelta(days=500)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
    assert [e["events"] for e in _suggest(client, auth_headers, history=window)["ledger"]] == [2, 2]
    response = client.post("/api/v1/suggestions", json={**ASK, "history": {"from": "2030-01-01"}}, headers=auth_headers)
    assert response.status_code == 422 and response.json["error"]["field"] == "history.from"


def test_a_series_continues_the_running_totals_from_the_ledger(client, auth_headers):
    body = {"groups": [NEW_YORK, MANILA], "duration_minutes": 60, "from": "2030-03-11T00:00:00Z",
            "count": 6, "every": "week"}
    fresh = client.post("/api/v1/series", json={**body, "history": False}, headers=auth_headers).json
    _town_hall(client, auth_headers)
    continued = client.post("/api/v1/series", json=body, headers=auth_headers).json
    assert "ledger" not in fresh and continued["ledger"][1] == {"name": "Manila", "pain": 20007.0, "events": 1}
    fresh_burden = {item["name"]: item["pain"] for item in fresh["burden"]}
    continued_burden = {item["name"]: item["pain"] for item in continued["burden"]}
    # a night weighs more than six evenings: New York takes every inconvenient turn after Manila's midnight
    assert all(occurrence["groups"][1]["pain"] == 0.0 for occurrence in continued["occurrences"])
    assert continued_burden["Manila"] == 0.0 < fresh_burden["Manila"]
