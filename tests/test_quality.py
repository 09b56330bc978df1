"""Lint, format, types and the import layers are part of the test suite."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "certgen"

# Layer of each module: a module may import only from its own layer or lower ones.
LAYERS = {
    "errors": 0,
    "units": 0,
    "codes": 0,
    "tomlfile": 0,
    "fontcheck": 0,
    "slimfont": 0,
    "pdfjoin": 0,
    "stopping": 0,
    "locks": 0,
    "workers": 0,
    "sandbox": 0,
    "views": 0,
    "stock": 0,
    "imb": 0,
    "brand": 0,
    "lang": 0,
    "tint": 0,
    "palette": 1,
    "text": 1,
    "styles": 1,
    "design": 1,
    "tables": 1,
    "profiles": 1,
    "presets": 1,
    "mapping": 1,
    "inputs": 1,
    "config": 1,
    "cache": 1,
    "sheets": 1,
    "inks": 1,
    "placement": 1,
    "mailing": 1,
    "variants": 1,
    "qr": 2,
    "typeset": 2,
    "art": 2,
    "render": 2,
    "calibration": 2,
    "ledger": 2,
    "clock": 2,
    "catalog": 2,
    "issue": 3,
    "runs": 3,
    "redeem": 3,
    "report": 3,
    "dashboard": 3,
    "webhooks": 3,
    "remind": 3,
    "gifts": 3,
    "mail": 3,
    "send": 3,
    "preview": 3,
    "verify": 3,
    "preflight": 3,
    "checks": 3,
    "web": 4,
    "web_api": 4,
    "cli": 4,
    "__main__": 4,
    "__init__": 0,
}
# Third-party libraries that only one module may touch.
OWNERS = {
    "reportlab": {"render", "art", "calibration", "imb"},
    "pikepdf": {"preflight"},
    "svglib": {"art"},
    "pdfrw": {"art"},
    "lxml": {"art"},
    "click": {"cli", "config"},
    "sqlalchemy": {"ledger"},
    "flask": {"web", "web_api"},
    "werkzeug": {"web"},
    "jinja2": {"text", "sandbox", "mapping", "dashboard"},
    "python_calamine": {"tables"},
    "uharfbuzz": {"typeset"},
    "fontTools": {"fontcheck"},
    "bidi": {"typeset"},
    "babel": {"clock", "config", "catalog", "inputs", "lang"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "certgen":
                names |= {f"certgen.{alias.name}" for alias in node.names}
    return names


def _module(path: Path) -> str:
    """certgen/issue.py -> issue; certgen/ledger/schema.py -> ledger (a package is one module)."""
    part = path.relative_to(PACKAGE).parts[0]
    return part.removesuffix(".py")


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.glob("**/*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_imports_point_down_the_layers(path: Path) -> None:
    module = _module(path)
    assert module in LAYERS, f"add certgen/{module}.py to LAYERS"
    for name in _imports(path):
        top, _, rest = name.partition(".")
        if top == "certgen" and rest:
            target = rest.split(".")[0]
            if not (PACKAGE / f"{target}.py").exists() and not (PACKAGE / target).is_dir():
                target = "__init__"  # a name from the package itself, like __version__
            assert LAYERS[target] <= LAYERS[module], (
                f"{module} imports {target} from a higher layer"
            )
        if top in OWNERS:
            assert module in OWNERS[top], f"only {OWNERS[top]} may import {top}, not {module}"


def _tool(name: str) -> str:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert exe, f"{name} is not installed: pip install -e '.[test]'"
    return exe


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_code_quality(command: list[str]) -> None:
    done = subprocess.run(
        [_tool(command[0]), *command[1:]], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_print_in_the_package() -> None:
    for path in PACKAGE.glob("**/*.py"):
        calls = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)]
        assert not [c for c in calls if isinstance(c.func, ast.Name) and c.func.id == "print"], path
