"""Service-wide answers: health."""

from __future__ import annotations

from typing import Literal

from eventhub.web.schemas.common import Answer


class Health(Answer):
    status: Literal["ok"]
    database: Literal["ok"]
    jobs: Literal["redis", "in-process"]


class HealthDown(Answer):
    """503: the part that does not answer says so."""

    status: str
    database: str
    jobs: str
