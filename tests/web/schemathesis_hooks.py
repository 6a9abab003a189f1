"""Loaded by `st run` in the fuzz test (SCHEMATHESIS_HOOKS). The test tools also bring urllib3-future (caldav needs
niquests), which replaces urllib3 and keeps a pool manager's pools in a container schemathesis 4 cannot list; this
counts the open connections the way schemathesis means to (to resend a request a closed keep-alive dropped)."""

from schemathesis.transport import requests as transport


def _opened_connections(session) -> int:
    total = 0
    for adapter in session.adapters.values():
        managers = (getattr(adapter, "poolmanager", None), *getattr(adapter, "proxy_manager", {}).values())
        for manager in managers:
            pools = getattr(manager, "pools", None)
            registry = getattr(pools, "_registry", None)
            listed = registry.values() if isinstance(registry, dict) else [pools.get(key) for key in pools.keys()]
            total += sum(getattr(pool, "num_connections", 0) for pool in list(listed) if pool is not None)
    return total


transport._count_opened_connections = _opened_connections
