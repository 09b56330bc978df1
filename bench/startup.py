"""Start-up: what a rep or the counter waits for, process start included.

    python bench/startup.py [--runs 20]

The median wall time of ``--runs`` runs each of ``python -c pass``, ``python -c "import
click"``, ``certgen --version``, ``certgen --help``, ``certgen issue --help``, the tab
completion of ``certgen issue --``, ``certgen show CODE``, ``certgen redeem CODE`` (a fresh
code each run) and one certificate from the options, on a fresh SQLite
ledger in a temporary app folder, with each one's ratio to ``python -c pass``. certgen's
bytecode is compiled first, as ``pip install`` does: with PYTHONDONTWRITEBYTECODE set (some
containers set it) an editable install would otherwise compile every module on every run.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CERTGEN = [sys.executable, "-m", "certgen"]
# What a shell's tab completion runs for "certgen issue --<TAB>" (click's bash protocol).
COMPLETING = {
    "_CERTGEN_COMPLETE": "bash_complete",
    "COMP_WORDS": "certgen issue --",
    "COMP_CWORD": "2",
}


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    package = Path(__file__).resolve().parent.parent / "certgen"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CERTGEN_")}
        env["CERTGEN_HOME"] = home
        one = [*CERTGEN, "issue", "-d", "compact", "--set", "business=Riverside Auto Care"]
        one += ["--to", "Bob Ng", "--from", "Jane Doe", "-q", "--force"]
        one += ["--base-url", "https://gifts.example", "-o", str(Path(home) / "one.pdf")]
        pad = [*one[:-2], "--count", str(args.runs), "-o", str(Path(home) / "pad.pdf")]
        subprocess.run(pad, env=env, check=True, capture_output=True)  # codes to redeem
        fresh = _codes(home)
        first = subprocess.run(one, env=env, check=True, capture_output=True, text=True)
        code = re.search(r"Code: (\S+)", first.stdout)
        assert code and len(fresh) >= args.runs
        cases: dict[str, list[list[str]]] = {
            "python -c pass": [[sys.executable, "-c", "pass"]],
            'python -c "import click"': [[sys.executable, "-c", "import click"]],
            "certgen --version": [[*CERTGEN, "--version"]],
            "certgen --help": [[*CERTGEN, "--help"]],
            "certgen issue --help": [[*CERTGEN, "issue", "--help"]],
            "completion: certgen issue --": [[*CERTGEN]],
            "certgen show CODE": [[*CERTGEN, "show", code.group(1)]],
            "certgen redeem CODE": [[*CERTGEN, "redeem", c] for c in fresh[: args.runs]],
            "certgen issue (one certificate)": [one],
        }
        medians = {}
        for name, commands in cases.items():
            completing = COMPLETING if name.startswith("completion") else {}
            runs = [
                timed(commands[i % len(commands)], {**env, **completing}) for i in range(args.runs)
            ]
            medians[name] = statistics.median(runs)
    base = medians["python -c pass"]
    print(f"median of {args.runs} runs, wall clock, process start included")
    print(f"{'':34} {'ms':>7} {'x pass':>7}")
    for name, seconds in medians.items():
        print(f"{name:34} {seconds * 1000:>7.0f} {seconds / base:>7.1f}")


def _codes(home: str) -> list[str]:
    import sqlite3

    with sqlite3.connect(Path(home) / "ledger.db") as conn:
        return [row[0] for row in conn.execute("SELECT code FROM certificates")]


if __name__ == "__main__":
    main()
