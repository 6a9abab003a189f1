"""Every scheduling request is bounded: past a limit it is refused with 422 naming the field, and at the
limits it is answered within about a second of CPU."""

import json
import time

import pytest

from eventhub.domain.scheduling_input import MAX_BUSY_TOTAL, MAX_GROUP_VIEWS

NEW_YORK = {"name": "New York", "timezone": "America/New_York", "work_start": "09:00", "work_end": "17:00"}
MANILA = {"name": "Manila", "timezone": "Asia/Manila", "work_start": "21:00", "work_end": "06:00"}
ASK = {"groups": [NEW_YORK, MANILA], "duration_minutes": 60, "from": "2027-03-01T00:00:00Z",
       "to": "2027-03-15T00:00:00Z", "limit": 5, "history": False}


def _post(client, headers, path, body):
    began = time.process_time()
    response = client.post(f"/api/v1/{path}", json=body, headers=headers)
    return response, time.process_time() - began


def _decades_of_busy(blocks=500):
    """Busy blocks from 1990 to 2037, every one overlapping the next."""
    years = [1990 + (47 * i) // blocks for i in range(blocks)]
    return [{"start": f"{year}-01-01T00:00:00Z", "end": "2037-06-01T00:00:00Z"} for year in years]


def test_the_hostile_series_of_the_issue_is_refused_at_once(client, auth_headers):
    """33 KB: 500 busy blocks over 1990-2037 and a monthly series from 1990 at 5-minute steps (12 s of CPU before)."""
    body = {"groups": [{**NEW_YORK, "busy": _decades_of_busy()}], "duration_minutes": 60,
            "from": "1990-01-01T00:00:00Z", "count": 104, "every": "month", "step_minutes": 5, "history": False}
    assert len(json.dumps(body)) > 30_000
    response, cpu = _post(client, auth_headers, "series", body)
    assert response.status_code == 422 and response.json["error"]["field"] == "count", response.json
    assert cpu < 1.0


def test_a_two_year_series_at_five_minute_steps_under_decades_of_busy_blocks_is_answered_quickly(
        client, auth_headers):
    body = {"groups": [{**NEW_YORK, "busy": _decades_of_busy()}, MANILA], "duration_minutes": 60,
            "from": "2027-01-04T00:00:00Z", "count": 104, "every": "week", "step_minutes": 5, "history": False}
    response, cpu = _post(client, auth_headers, "series", body)
    assert response.status_code == 200, response.json
    assert len(response.json["occurrences"]) == 104
    assert all(occurrence["groups"][0]["busy"] for occurrence in response.json["occurrences"])  # no way round
    assert cpu < 3.0  # about 0.5 s here; generous for a shared machine


def test_limit_times_groups_is_capped(client, auth_headers):
    groups = [{**NEW_YORK, "name": f"office {i}"} for i in range(2000)]
    response, cpu = _post(client, auth_headers, "suggestions", {**ASK, "groups": groups, "limit": 100})
    assert response.status_code == 422 and response.json["error"]["field"] == "limit"
    assert f"{MAX_GROUP_VIEWS:,}" in response.json["error"]["message"]


def test_busy_blocks_in_all_groups_are_capped(client, auth_headers):
    block = {"start": "2027-03-02T15:00:00Z", "end": "2027-03-02T16:00:00Z"}
    groups = [{**NEW_YORK, "name": f"office {i}", "busy": [block] * 500} for i in range(MAX_BUSY_TOTAL // 500 + 1)]
    response, _ = _post(client, auth_headers, "suggestions", {**ASK, "groups": groups, "limit": 1})
    assert response.status_code == 422
    assert response.json["error"]["field"] == f"groups[{MAX_BUSY_TOTAL // 500}].busy"


def test_overlapping_busy_blocks_are_merged_and_still_avoided(client, auth_headers):
    blocks = [{"start": f"2027-03-02T{14 + i % 3}:00:00Z", "end": f"2027-03-02T{15 + i % 3}:30:00Z"}
              for i in range(500)]
    response, _ = _post(client, auth_headers, "suggestions", {**ASK, "groups": [{**NEW_YORK, "busy": blocks}, MANILA]})
    assert response.status_code == 200
    for suggestion in response.json["suggestions"]:
        assert not (suggestion["start"] < "2027-03-02T17:30:00Z" and suggestion["end"] > "2027-03-02T14:00:00Z")


@pytest.mark.parametrize("raw_name", ['"\\ud800"', '"New\\u0000York"', '"New\\nYork"', '"\\u001b[31mNY"',
                                      '"NY\\u0085"', '"\\udfff tail"'])
@pytest.mark.parametrize("path", ["suggestions", "series"])
def test_control_characters_and_lone_surrogates_in_names_are_422(client, auth_headers, raw_name, path):
    body = {**ASK, "groups": [{**NEW_YORK, "name": "@NAME@"}, MANILA], "count": 4, "every": "week"}
    raw = json.dumps(body).replace('"@NAME@"', raw_name)
    response = client.post(f"/api/v1/{path}", data=raw, content_type="application/json", headers=auth_headers)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "groups[0].name"


def test_calendars_need_google_and_real_addresses(client, auth_headers):
    response, _ = _post(client, auth_headers, "suggestions",
                        {**ASK, "groups": [{**NEW_YORK, "calendars": ["ana@example.com"]}, MANILA]})
    assert response.status_code == 422 and response.json["error"]["field"] == "groups[0].calendars"
    response, _ = _post(client, auth_headers, "suggestions",
                        {**ASK, "groups": [{**NEW_YORK, "calendars": ["not an address"]}, MANILA]})
    assert response.status_code == 422 and response.json["error"]["field"] == "groups[0].calendars[0]"


def test_ten_thousand_people_over_28_days_are_answered_at_the_limits(client, auth_headers):
    zones = ["America/New_York", "Europe/London", "Asia/Manila", "Asia/Kolkata", "America/Los_Angeles",
             "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney"]
    people = []
    for i in range(10_000):
        day = 1 + i % 28
        people.append({"name": f"person {i}", "timezone": zones[i % len(zones)],
                       "work_start": ("08:00", "09:00", "10:00")[i % 3], "work_end": ("17:00", "18:00")[i % 2],
                       "busy": [{"start": f"2027-03-{day:02d}T{h:02d}:00:00Z",
                                 "end": f"2027-03-{day:02d}T{h:02d}:45:00Z"} for h in (i % 24, (i * 7) % 24)]})
    body = {**ASK, "groups": people, "to": "2027-03-29T00:00:00Z", "limit": MAX_GROUP_VIEWS // 10_000}
    response, cpu = _post(client, auth_headers, "suggestions", body)
    assert response.status_code == 200, response.json
    assert len(response.json["suggestions"]) == 5 and len(response.json["suggestions"][0]["groups"]) == 10_000
    assert cpu < 4.0  # about 1 s here (see bench/bench_scheduling.py); generous for a shared machine
