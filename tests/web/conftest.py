"""Fixtures of the web tests: which board store a test runs on."""

import pytest


@pytest.fixture
def settings(settings, request):
    """The in-process store, or (parametrized "redis") snapshots and announcements in a real Redis."""
    if getattr(request, "param", "in-process") == "redis":
        settings.update(REDIS_URL=request.getfixturevalue("redis_url"), RQ_QUEUE="eventhub-test")
    return settings


BOTH_STORES = pytest.mark.parametrize("settings", ["in-process", "redis"], indirect=True)
ON_REDIS = pytest.mark.parametrize("settings", ["redis"], indirect=True)
