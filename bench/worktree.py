"""An earlier commit beside this checkout, for benchmarks that compare the two in one run:
a temporary git worktree, run with this environment's Python and packages (PYTHONPATH)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIT = shutil.which("git") or "git"


@contextmanager
def checkout(commit: str, into: Path) -> Iterator[Path]:
    """``commit`` checked out at ``into`` for the length of the block."""
    subprocess.run(
        [GIT, "-C", str(ROOT), "worktree", "add", "--detach", str(into), commit],
        check=True,
        capture_output=True,
    )
    try:
        yield into
    finally:
        subprocess.run(
            [GIT, "-C", str(ROOT), "worktree", "remove", "--force", str(into)],
            check=False,
            capture_output=True,
        )


def environment(tree: Path, home: Path) -> dict[str, str]:
    """This environment with ``tree``'s certgen first on the path and its own app folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTGEN_")}
    if "CERTGEN_TEST_POSTGRES_URL" in os.environ:
        env["CERTGEN_TEST_POSTGRES_URL"] = os.environ["CERTGEN_TEST_POSTGRES_URL"]
    return env | {"PYTHONPATH": str(tree), "CERTGEN_HOME": str(home)}
