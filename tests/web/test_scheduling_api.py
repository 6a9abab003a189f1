"""`POST /api/v1/suggestions` and `POST /api/v1/series` as the contract describes them."""

import copy
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

BASE = {
    "groups": [
        {"name": "New York", "timezone": "America/New_York", "work_start": "09:00", "work_end": "17:00",
         "workdays": ["mon", "tue", "wed", "thu", "fri"], "holidays": "US", "headcount": 40,
         "busy": [{"start": "2027-03-02T15:00:00Z", "end": "2027-03-02T16:00:00Z"}]},
        {"name": "Manila", "timezone": "Asia/Manila", "work_start": "21:00", "work_end": "06:00", "holidays": "PH"},
    ],
    "duration_minutes": 60, "from": "2027-03-01T00:00:00Z", "to": "2027-03-15T00:00:00Z",
    "step_minutes": 15, "limit": 5,
}


def _post(client, headers, path, body):
    return client.post(f"/api/v1/{path}", json=body, headers=headers)


def test_suggestions_answer_the_contract_shape_best_first(client, auth_headers):
    response = _post(client, auth_headers, "suggestions", BASE)
    assert response.status_code == 200, response.json
    suggestions = response.json["suggestions"]
    assert len(suggestions) == 5
    best = suggestions[0]
    assert best["max_pain"] == 0.0 and best["total_pain"] == 0.0
    assert best["start"].endswith("Z") and best["end"].endswith("Z")
    keys = {"name", "local_start", "local_end", "pain", "outside_minutes", "workday", "holiday", "night"}
    for group in best["groups"]:
        assert keys <= group.keys()
        assert group["pain"] == 0 and group["outside_minutes"] == 0 and group["workday"] and not group["night"]
    assert [s["max_pain"] for s in suggestions] == sorted(s["max_pain"] for s in suggestions)


def test_reported_local_times_equal_the_instant_converted_independently(client, auth_headers):
    for suggestion in _post(client, auth_headers, "suggestions", BASE).json["suggestions"]:
        start = datetime.fromisoformat(suggestion["start"])
        for group, zone in zip(suggestion["groups"], ("America/New_York", "Asia/Manila"), strict=True):
            assert datetime.fromisoformat(group["local_start"]) == start
            assert datetime.fromisoformat(group["local_start"]).utcoffset() == start.astimezone(
                ZoneInfo(zone)).utcoffset()


def test_a_busy_block_is_never_overlapped(client, auth_headers):
    for suggestion in _post(client, auth_headers, "suggestions", BASE).json["suggestions"]:
        assert not (suggestion["start"] < "2027-03-02T16:00:00Z" and suggestion["end"] > "2027-03-02T15:00:00Z")


def test_series_share_the_burden_and_report_fairness(client, auth_headers):
    body = {key: value for key, value in BASE.items() if key not in ("to", "limit")}
    body["groups"] = [{**BASE["groups"][0], "busy": []},
                      {"name": "Manila", "timezone": "Asia/Manila", "work_start": "09:00", "work_end": "18:00"}]
    body.update(count=8, every="week")
    response = _post(client, auth_headers, "series", body)
    assert response.status_code == 200, response.json
    plan = response.json
    assert len(plan["occurrences"]) == 8
    assert {item["name"] for item in plan["burden"]} == {"New York", "Manila"}
    assert 0.0 <= plan["fairness"]["jain"] <= 1.0
    assert plan["fairness"]["jain"] > 0.9  # neither side carries the whole series
    assert any(item["name"] == "New York" for item in plan["dst_shifts"])  # 2027-03-14 falls in the series


def test_the_api_needs_an_organizer_token(client):
    assert _post(client, {}, "suggestions", BASE).status_code == 401
    assert _post(client, {}, "series", BASE).status_code == 401


def _with(path, value):
    body = copy.deepcopy(BASE)
    target = body
    *parents, last = path
    for key in parents:
        target = target[key]
    target[last] = value
    return body


@pytest.mark.parametrize(("path", "value", "field"), [
    (("groups", 1, "timezone"), "Mars/Olympus", "groups[1].timezone"),
    (("groups", 0, "work_start"), "25:00", "groups[0].work_start"),
    (("duration_minutes",), 0, "duration_minutes"),
    (("duration_minutes",), 1440, "duration_minutes"),
    (("from",), "2027-03-20T00:00:00Z", "to"),  # `to` must come after `from`
    (("groups", 0, "holidays"), "XX", "groups[0].holidays"),
    (("to",), "2027-09-01T00:00:00Z", "to"),
    (("groups", 0, "busy", 0, "end"), "2027-03-02T14:00:00Z", "groups[0].busy[0].end"),
    (("groups",), [], "groups"),
    (("groups",), [BASE["groups"][1]] * 10_001, "groups"),
])
def test_bad_input_is_422_naming_the_field(client, auth_headers, path, value, field):
    response = _post(client, auth_headers, "suggestions", _with(path, value))
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field


HOSTILE = [None, True, -1, 10**30, 1.5, "", " ", "x" * 5000, [], {}, ["mon"], {"a": 1}, "2027-13-45", "NaN",
           "09:00:00", "\u0000", "<script>alert(1)</script>"]
FIELDS = [("groups",), ("groups", 0), ("groups", 0, "name"), ("groups", 0, "timezone"), ("groups", 0, "work_start"),
          ("groups", 0, "work_end"), ("groups", 0, "workdays"), ("groups", 0, "holidays"), ("groups", 0, "headcount"),
          ("groups", 0, "busy"), ("groups", 0, "busy", 0), ("groups", 0, "busy", 0, "start"), ("duration_minutes",),
          ("from",), ("to",), ("step_minutes",), ("limit",), ("history",), ("groups", 0, "calendars")]


@pytest.mark.parametrize("path", FIELDS, ids=lambda path: ".".join(map(str, path)))
def test_no_hostile_value_gets_a_5xx(client, auth_headers, path):
    for value in HOSTILE:
        for endpoint in ("suggestions", "series"):
            body = _with(path, value)
            if endpoint == "series":
                body.update(count=4, every="week")
            response = _post(client, auth_headers, endpoint, body)
            assert response.status_code < 500, (path, value, response.json)
            if response.status_code >= 400:
                assert response.json["error"]["message"]
