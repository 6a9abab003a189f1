"""The organizer is the adversary: they write the attendee list and its groups, and hold links of their
own. Whatever they arrange, nothing they can see (moderation API, event page, CSV, summary) says which
question a real employee voted for beyond the totals every attendee's board shows.

Each attack is played in two worlds that differ only in which of two real employees voted for which
question; the totals are equal, so an organizer view that tells the worlds apart has leaked a vote.
"""

import json
import re

import pytest

from tests.factories import create_town_hall
from tests.factories import links as links_of

CONTROLLED = [f"ctl{n}@organizer-owned.example" for n in range(8)]

# Padding: each real employee shares a group of five with four addresses the organizer controls.
PADDING = [{"email": "ana@corp.example", "group": "Remote A"},
           *({"email": e, "group": "Remote A"} for e in CONTROLLED[:4]),
           {"email": "ben@corp.example", "group": "Remote B"},
           *({"email": e, "group": "Remote B"} for e in CONTROLLED[4:])]
# Complement: the employee is left ungrouped, everyone else sits in large groups, so "other groups" is her.
COMPLEMENT = [{"email": "ana@corp.example"},
              {"email": "ben@corp.example", "group": "Head office"},
              *({"email": e, "group": "Head office"} for e in CONTROLLED[:4]),
              *({"email": e, "group": "Padding"} for e in CONTROLLED[4:])]


def _world(client, headers, people, ana_votes: str, ben_votes: str) -> str:
    """One town hall in which Ana votes for question `ana_votes` and Ben for `ben_votes`; the organizer's
    own links ask the questions and vote too. Returns the event id."""
    event = create_town_hall(client, headers, title="All hands", attendees=people, groups=[
        {"name": g, "timezone": "Europe/London"} for g in ("Remote A", "Remote B", "Head office", "Padding")])
    links = links_of(event["id"])
    ids = {}
    for text in ("Will the office close?", "Why was the bonus cut?", "When is the next offsite?"):
        ids[text] = client.post(f"/api/v1/ask/{links[CONTROLLED[0]]}/questions", json={"text": text}).json["id"]
    texts = list(ids)
    for email, text in (("ana@corp.example", ana_votes), ("ben@corp.example", ben_votes),
                        (CONTROLLED[1], texts[2]), (CONTROLLED[5], texts[0])):
        assert client.post(f"/api/v1/ask/{links[email]}/questions/{ids[text]}/vote").status_code == 200
    return event["id"]


def _sign_in(client, organizer) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"email": organizer["email"], "password": organizer["password"],
                                       "csrf_token": token}).status_code == 302


def _without_ids(text: str, event_id: str) -> str:
    text = text.replace(event_id, "EVENT")
    text = re.sub(r"[0-9a-f]{32}", "ID", text)
    text = re.sub(r'name="csrf_token" value="[^"]+"', "", text)
    return " ".join(text.split())  # where a card ends in the page's whitespace is not a difference


def _organizer_view(client, headers, event_id: str) -> dict:
    """Everything the organizer can read about the questions, with random ids blanked and rows as sets
    (rows with equal votes come in id order, and ids differ between worlds)."""
    listed = client.get(f"/api/v1/events/{event_id}/questions", headers=headers).json["questions"]
    by_id = {q["id"]: q["text"] for q in listed}
    api_rows = frozenset(
        json.dumps({**{k: v for k, v in q.items() if k != "id"}, "similar": sorted(by_id[s] for s in q["similar"])},
                   sort_keys=True)
        for q in listed)
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    cards = frozenset(_without_ids(card, event_id) for card in
                      re.findall(r'<li class="question card".*?</li>\s*(?=<li class="question card"|</ol>)', page,
                                 flags=re.S))
    csv_rows = frozenset(client.get(f"/events/{event_id}/questions.csv").get_data(as_text=True).splitlines())
    summary = client.get(f"/api/v1/events/{event_id}/summary", headers=headers).json
    summary_rows = frozenset((q["text"], q["votes"], q["answer"]) for q in summary["questions"])
    return {"api": api_rows, "page": cards, "csv": csv_rows, "summary": summary_rows,
            "totals": {q["text"]: q["votes"] for q in listed}}


@pytest.mark.parametrize("people", [PADDING, COMPLEMENT], ids=["padding a group", "complement of groups"])
def test_the_organizer_cannot_tell_which_question_an_employee_voted_for(client, auth_headers, organizer, people):
    _sign_in(client, organizer)
    office, bonus = "Will the office close?", "Why was the bonus cut?"
    first = _world(client, auth_headers, people, ana_votes=office, ben_votes=bonus)
    second = _world(client, auth_headers, people, ana_votes=bonus, ben_votes=office)

    views = [_organizer_view(client, auth_headers, event_id) for event_id in (first, second)]
    assert views[0]["totals"] == {office: 2, bonus: 1, "When is the next offsite?": 1}
    assert len(views[0]["page"]) == 3 and len(views[0]["csv"]) == 4  # the views were really read
    assert views[0] == views[1]
    # refreshing tells nothing new either: the same view every time
    assert all(_organizer_view(client, auth_headers, first) == views[0] for _ in range(3))


def test_moderation_rows_carry_no_breakdown_by_group_or_time(client, auth_headers):
    event_id = _world(client, auth_headers, PADDING, ana_votes="Will the office close?",
                      ben_votes="Why was the bonus cut?")
    listed = client.get(f"/api/v1/events/{event_id}/questions", headers=auth_headers).json["questions"]
    assert all(set(row) == {"id", "text", "votes", "status", "answer", "merged_into", "similar"} for row in listed)
