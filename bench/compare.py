"""This checkout against an earlier commit, in one run: the hot paths side by side.

    python bench/compare.py [--baseline 418bdf0] [--rows 10000] [--jobs 2] [--repeat 3]

The baseline is checked out into a temporary git worktree and run with this environment's
Python and packages (PYTHONPATH pointing at it), alternating with this checkout, best of
``--repeat`` each:
- ``certgen issue`` of a generated list (one file, ``--jobs``), in a real process with a
  fresh SQLite ledger: certificates per second, wall clock from process start;
- ``bench/redeem.py`` of each tree (its own code): redemptions per second on SQLite and,
  where CERTGEN_TEST_POSTGRES_URL names a server, PostgreSQL.
Prints each figure for both and the change; 418bdf0 is the last commit before issue 15.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import worktree
from worktree import ROOT


def write_list(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as stream:
        stream.write("to,from\n")
        stream.writelines(f"Friend {i} Lee,Customer {i}\n" for i in range(rows))


def issue_rate(tree: Path, work: Path, listing: Path, rows: int, jobs: int) -> float:
    home = Path(tempfile.mkdtemp(dir=work))
    command = [sys.executable, "-m", "certgen", "issue", str(listing), "-d", "compact"]
    command += ["--set", "business=Riverside Auto Care", "-o", str(home / "run.pdf")]
    command += ["-j", str(jobs), "-q", "--base-url", "https://gifts.example"]
    started = time.perf_counter()
    subprocess.run(command, env=worktree.environment(tree, home), check=True, capture_output=True)
    return rows / (time.perf_counter() - started)


def redeem_rates(tree: Path, work: Path, redemptions: int) -> dict[str, float]:
    """bench/redeem.py of ``tree``: {"sqlite 4": rate, ...}."""
    home = Path(tempfile.mkdtemp(dir=work))
    command = [sys.executable, str(tree / "bench" / "redeem.py")]
    command += ["--redemptions", str(redemptions), "--clients", "1,4"]
    done = subprocess.run(
        command, env=worktree.environment(tree, home), check=True, capture_output=True, text=True
    )
    found = re.findall(r"^\s*(sqlite|postgres)\s+(\d+)\s+(\d+)\s*$", done.stdout, re.MULTILINE)
    return {f"{engine} {clients}": float(rate) for engine, clients, rate in found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="418bdf0")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--redemptions", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        with worktree.checkout(args.baseline, work / "baseline") as baseline:
            listing = work / "list.csv"
            write_list(listing, args.rows)
            trees = {"baseline": baseline, "now": ROOT}
            best: dict[str, dict[str, float]] = {name: {} for name in trees}
            issue_key = f"issue {args.rows:,} rows -j {args.jobs}, cert/s"
            for _ in range(args.repeat):  # alternated, so drift in the machine hits both
                for name, tree in trees.items():
                    rate = issue_rate(tree, work, listing, args.rows, args.jobs)
                    best[name][issue_key] = max(best[name].get(issue_key, 0), rate)
                    for key, value in redeem_rates(tree, work, args.redemptions).items():
                        label = f"redeem {key} clients, /s"
                        best[name][label] = max(best[name].get(label, 0), value)
    print(f"baseline {args.baseline} against this checkout, best of {args.repeat}, alternated")
    print(f"{'':44} {'baseline':>9} {'now':>9} {'change':>7}")
    for key, before in best["baseline"].items():
        now = best["now"].get(key, 0.0)
        print(f"{key:44} {before:>9.0f} {now:>9.0f} {100 * (now - before) / before:>+6.1f}%")


if __name__ == "__main__":
    main()
