"""eventhub/domain imports only the standard library and pure libraries (pytz, icalendar, holidays, numpy)."""

import ast
import json
import pathlib
import subprocess
import sys

DOMAIN = pathlib.Path(__file__).resolve().parents[2] / "eventhub" / "domain"
FORBIDDEN = ("flask", "sqlalchemy", "redis", "rq", "googleapiclient")


def _modules():
    return sorted(f"eventhub.domain.{path.stem}" for path in DOMAIN.glob("*.py") if path.stem != "__init__")


def test_importing_every_domain_module_loads_no_framework():
    """A fresh interpreter imports every module of the domain (through the real `eventhub` package,
    whose app factory imports Flask only when called); none of the impure packages follow."""
    script = (
        "import importlib, json, sys\n"
        f"for name in {_modules()!r}: importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=DOMAIN.parents[1], check=True, timeout=120)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_domain_source_names_no_impure_import():
    for path in DOMAIN.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
