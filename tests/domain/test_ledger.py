"""The burden ledger and the engines that weigh it, checked by hand on New York and Manila."""

from datetime import UTC, datetime

from eventhub.domain.burden_chart import bar_length, burden_chart
from eventhub.domain.ledger import LedgerEntry, PastTownHall, burden_ledger, ledger_summary, past_burden
from eventhub.domain.scheduling import parse_suggestion_request, rank_slots
from eventhub.domain.scheduling_input import parse_series_request
from eventhub.domain.series import plan_series

NEW_YORK = {"name": "New York", "timezone": "America/New_York", "work_start": "09:00", "work_end": "17:00"}
MANILA = {"name": "Manila", "timezone": "Asia/Manila", "work_start": "09:00", "work_end": "18:00"}
BOTH = frozenset({("New York", "America/New_York"), ("Manila", "Asia/Manila")})
# Monday 16:00 UTC: 11:00 in New York, Tuesday 00:00 in Manila
MANILA_MIDNIGHT = PastTownHall(datetime(2027, 2, 1, 16, 0, tzinfo=UTC), 60, BOTH)


def _request(**changes):
    body = {"groups": [NEW_YORK, MANILA], "duration_minutes": 60, "from": "2027-03-01T00:00:00Z",
            "to": "2027-03-06T00:00:00Z", "step_minutes": 15, "limit": 5}
    body.update(changes)
    return parse_suggestion_request(body)


def test_a_town_hall_at_manilas_midnight_is_counted_against_manila_alone():
    """Manila's first hour after midnight: 6 h after its 18:00 end, weight 1 + 6 = 7, plus the night's 20,000."""
    request = _request()
    ledger = burden_ledger(request.groups, [MANILA_MIDNIGHT])
    assert ledger == (LedgerEntry("New York", 0.0, 1), LedgerEntry("Manila", 20_007.0, 1))


def test_groups_are_matched_by_name_and_zone_and_judged_with_the_requests_hours():
    request = _request(groups=[{**NEW_YORK, "timezone": "America/Chicago"}, {**MANILA, "work_start": "21:00",
                                                                             "work_end": "06:00"}])
    ledger = burden_ledger(request.groups, [MANILA_MIDNIGHT])
    # the same name in another zone is another group; Manila's night shift makes midnight painless
    assert ledger == (LedgerEntry("New York", 0.0, 0), LedgerEntry("Manila", 0.0, 1))


def test_after_manilas_midnight_the_best_suggestion_spares_manila():
    """Without history the best slot balances the two; with Manila's midnight on the ledger the leximin of
    past-plus-this burden gives Manila a slot inside its hours, and New York the evening, never a night."""
    request = _request()
    balanced = rank_slots(request)[0]
    ledger = burden_ledger(request.groups, [MANILA_MIDNIGHT])
    remembering = rank_slots(request, past_burden(ledger))[0]
    new_york, manila = remembering.groups
    assert manila.pain == 0.0 and not new_york.night and new_york.workday
    assert 0 < new_york.pain <= 12
    assert balanced.groups[1].pain > 0 and balanced.max_pain < remembering.max_pain


def test_without_history_the_ranking_is_unchanged():
    request = _request()
    assert [s.start for s in rank_slots(request)] == [s.start for s in rank_slots(request, (0.0, 0.0))]


def test_a_series_continues_the_running_totals_of_the_ledger():
    body = {"groups": [NEW_YORK, MANILA], "duration_minutes": 60, "from": "2027-03-01T00:00:00Z",
            "count": 6, "every": "week"}
    request = parse_series_request(body)
    fresh = plan_series(request)
    continued = plan_series(request, (0.0, 40.0))  # Manila already carried 40
    fresh_burden, continued_burden = dict(fresh.burden), dict(continued.burden)
    assert abs(fresh_burden["Manila"] - fresh_burden["New York"]) < 10  # a fresh series splits it
    # the continued one gives New York the next turns until the totals meet
    assert continued_burden["New York"] > continued_burden["Manila"]
    assert continued.occurrences[0].groups[1].pain == 0.0
    totals = [continued_burden["New York"], continued_burden["Manila"] + 40]
    assert abs(totals[0] - totals[1]) <= abs(fresh_burden["New York"] - fresh_burden["Manila"] - 40)


def test_the_ledger_work_is_bounded_and_keeps_the_newest_town_halls():
    request = _request()
    halls = [MANILA_MIDNIGHT] * 10
    ledger = burden_ledger(request.groups, halls, max_evaluations=4)  # two profiles per town hall
    assert [entry.events for entry in ledger] == [2, 2]


def test_the_summary_says_who_carried_the_bad_hours():
    ledger = (LedgerEntry("New York", 0.0, 3), LedgerEntry("Manila", 60_021.0, 3))
    text = ledger_summary(ledger)
    assert text.startswith("Manila has been carrying the bad hours: 3 town halls cost them 60,021.0 pain")
    assert "New York has had no pain at all" in text
    assert ledger_summary(None).startswith("History is off")
    assert "nobody carries" in ledger_summary((LedgerEntry("New York", 0.0, 1),))


def test_chart_bars_follow_log_pain_and_fit_the_viewbox():
    chart = burden_chart(["New York", "Manila"], [("before", [0.0, 20_007.0]), ("with #1", [4.0, 20_007.0])])
    bars = [bar for row in chart.rows for bar in row.bars]
    assert [bar.width for bar in bars][0] == 0.0
    assert max(bar.width for bar in bars) + 110 <= chart.width
    assert 0 < bars[1].width < bars[2].width  # 4 is visible beside 20,007
    assert bar_length(9, 99, 100) == 50.0
