"""eventhub/domain imports only the standard library and the pure libraries named here; import-linter's
contracts (pyproject.toml, run by `make test`) keep the layers, and these tests keep the allow-list."""

import ast
import json
import pathlib
import subprocess
import sys

DOMAIN = pathlib.Path(__file__).resolve().parents[2] / "eventhub" / "domain"
# Pure libraries: no I/O, no framework, no global state of the app.
ALLOWED = {"pytz", "icalendar", "holidays", "dateutil", "numpy"}


def _allowed(name: str) -> bool:
    top = name.split(".")[0]
    return top in sys.stdlib_module_names or top in ALLOWED or name.startswith("eventhub.domain") or \
        name == "eventhub"


def _modules():
    return sorted(f"eventhub.domain.{path.stem}" for path in DOMAIN.glob("*.py") if path.stem != "__init__")


def test_importing_every_domain_module_loads_only_the_standard_library_and_pure_libraries():
    """A fresh interpreter imports every module of the domain (through the real `eventhub` package, whose
    app factory imports Flask only when called); everything loaded is allowed or loaded by what is."""
    script = (
        "import importlib, json, sys\n"
        "before = set(sys.modules)\n"
        f"for name in {_modules()!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=DOMAIN.parents[1], check=True, timeout=120)
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    # What the allowed libraries need in turn (icalendar's tzdata, dateutil's six) is theirs, not ours:
    # none of it is a framework, a database driver, a queue or a network client.
    impure = {"flask", "werkzeug", "jinja2", "sqlalchemy", "psycopg", "redis", "rq", "googleapiclient", "google",
              "httplib2", "requests", "urllib3", "gunicorn", "alembic"}
    assert loaded & impure == set()


def test_domain_source_imports_only_what_is_allowed():
    for path in DOMAIN.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["eventhub.domain"] if node.level else [node.module or ""]
            else:
                continue
            for name in names:
                assert _allowed(name), f"{path.name} imports {name}, which is not on the domain's allow-list"
