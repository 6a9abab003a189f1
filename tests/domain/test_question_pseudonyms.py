"""The pseudonyms of one link, without an app: the voter, the asking counter and the voting counter are
three unrelated values, so none of them can be joined with another."""

import pytest

from eventhub.domain.questions import rate_key, voter_pseudonym


def test_a_link_has_unrelated_pseudonyms_for_voting_asking_and_its_vote_counter():
    key = bytes(range(32))
    values = {voter_pseudonym(key, "link"), rate_key(key, "link", "ask"), rate_key(key, "link", "vote")}
    assert len(values) == 3
    assert rate_key(key, "link", "ask") == rate_key(key, "link", "ask")  # stable while the key lives
    assert rate_key(bytes(32), "link", "ask") != rate_key(key, "link", "ask")  # and only under this key


def test_an_unknown_rate_limit_is_refused():
    with pytest.raises(ValueError):
        rate_key(bytes(32), "link", "login")
