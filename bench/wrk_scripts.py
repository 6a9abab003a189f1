"""wrk Lua scripts for the board benchmark (`bench_questions`): which link asks, votes or reads on each
request, and the count of every status wrk saw, written to a file when wrk is done."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from pathlib import Path

WRK_THREADS = 2  # what bench.baselines.load runs wrk with


def _lua_list(values: list[str]) -> str:
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


def lua_script(kind: str, tokens: list[str], questions: list[str], offset: int, statuses_file: str,
               etags: list[str] | None = None) -> str:
    """wrk Lua: request number i (over all threads, from `offset`) asks with link i, votes with the i-th
    (link, question) pair, or reads link i's board (`board`; `board304` with the ETag that link got last);
    every status is counted and written to `statuses_file` when wrk is done."""
    if kind == "board":
        make = ('local token = tokens[(i % #tokens) + 1]\n'
                '  return wrk.format("GET", "/api/v1/ask/" .. token)')
    elif kind == "board304":
        make = ('local n = (i % #tokens) + 1\n'
                '  return wrk.format("GET", "/api/v1/ask/" .. tokens[n], {["If-None-Match"] = etags[n]})')
    elif kind == "ask":
        make = ('local token = tokens[(i % #tokens) + 1]\n'
                '  return wrk.format("POST", "/api/v1/ask/" .. token .. "/questions", nil,'
                ' \'{"text": "Bench question number \' .. i .. \'?"}\')')
    else:
        make = ('local token = tokens[(i % #tokens) + 1]\n'
                '  local question = questions[((i + math.floor(i / #tokens)) % #questions) + 1]\n'
                '  return wrk.format("POST", "/api/v1/ask/" .. token .. "/questions/" .. question .. "/vote")')
    return f"""
tokens = {_lua_list(tokens)}
questions = {_lua_list(questions)}
etags = {_lua_list(etags or [])}
local threads, created = {{}}, 0
function setup(thread)
  thread:set("id", created)
  created = created + 1
  table.insert(threads, thread)
end
function init(args)
  n = 0
  statuses = {{}}
end
request = function()
  local i = {offset} + n * {WRK_THREADS} + id
  n = n + 1
  {make}
end
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local out = io.open({json.dumps(statuses_file)}, "w")
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do out:write(status, " ", count, "\\n") end
  end
  out:close()
end
"""


def read_statuses(path: Path) -> Counter:
    counts: Counter = Counter()
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().split("\n"):
            if line.strip():
                status, count = line.split()
                counts[int(status)] += int(count)
    return counts


def statuses_text(counts: Counter) -> str:
    return ", ".join(f"{status}: {count:,}" for status, count in sorted(counts.items())) or "none recorded"


