"""Two runs at once, and a run killed mid-way, with real processes: two `certgen issue`
started together on one output or one run id leave exactly one run and one consistent file;
a SIGKILLed run leaves no drawing process alive, and the next run finishes it cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from certgen import codes
from certgen.ledger import open_ledger
from tests.helpers import page_count, qr_codes


def start(*args: str) -> subprocess.Popen[str]:
    exe = shutil.which("certgen")
    assert exe
    command = [exe, "issue", "-d", "compact", "--set", "business=Bright Smile", "-q", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def write_list(path: Path, count: int, tag: str) -> Path:
    path.write_text("to,from\n" + "".join(f"{tag}{i},Giver {i}\n" for i in range(count)))
    return path


def batches(env: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(env / "ledger.db") as conn:
        rows = conn.execute(
            "SELECT b.id, COUNT(c.code) FROM batches b JOIN certificates c ON c.batch_id = b.id "
            "GROUP BY b.id"
        ).fetchall()
    return [(str(a), int(b)) for a, b in rows]


@pytest.mark.parametrize("shared", ["output", "run id"])
def test_two_runs_started_together_leave_one_run_and_one_consistent_file(
    env: Path, shared: str
) -> None:
    first, second = write_list(Path("a.csv"), 1500, "A"), write_list(Path("b.csv"), 1500, "B")
    if shared == "output":
        args = [[str(first), "-o", "run.pdf"], [str(second), "-o", "run.pdf"]]
    else:
        args = [[str(first), "-o", "a.pdf", "--run-id", "spring"]] * 2
        args[1] = [str(first), "-o", "b.pdf", "--run-id", "spring"]
    runs = [start(*a, "-j", "1") for a in args]
    results = [(run.wait(timeout=180), run.stdout.read(), run.stderr.read()) for run in runs]  # type: ignore[union-attr]
    codes_back = sorted(code for code, _, _ in results)
    assert codes_back in ([0, 16], [0, 5]), results  # 5: the same id's other input, refused
    busy = [err for code, _, err in results if code != 0]
    assert (
        "is being written by run" in busy[0] or "is running now" in busy[0] or "spring" in busy[0]
    )
    [(batch_id, count)] = batches(env)
    assert count == 1500
    pdf = (
        Path("run.pdf")
        if shared == "output"
        else next(p for p in (Path("a.pdf"), Path("b.pdf")) if p.exists())
    )
    assert page_count(pdf) == 1500
    with open_ledger(f"sqlite:///{env / 'ledger.db'}") as ledger:
        recorded = {r.code for r in ledger.batch(batch_id)}
    printed = {
        codes.normalize(u.rsplit("/", 1)[1]) for page in qr_codes(pdf, dpi=60)[:40] for u in page
    }
    assert printed <= recorded and len(printed) == 40
    assert not list(Path.cwd().glob(".*.part")) and not list(Path.cwd().glob(".*.lock"))


def test_a_second_run_is_refused_while_the_first_holds_the_output(env: Path) -> None:
    write_list(Path("big.csv"), 4000, "F")
    write_list(Path("other.csv"), 10, "O")
    first = start("big.csv", "-o", "run.pdf", "-j", "1")
    deadline = time.monotonic() + 60
    while not Path(".run.pdf.lock").exists():  # the first run has the output
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    second = start("other.csv", "-o", "run.pdf", "--force")
    code, err = second.wait(timeout=60), second.stderr.read()  # type: ignore[union-attr]
    assert code == 16, err
    assert "run.pdf is being written by run " in err and f"process {first.pid}" in err
    assert first.wait(timeout=180) == 0
    assert page_count(Path("run.pdf")) == 4000  # the first run's file, whole


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_a_killed_run_leaves_no_worker_alive_and_the_next_run_finishes_it(env: Path) -> None:
    write_list(Path("big.csv"), 6000, "K")
    run = start("big.csv", "-o", "run.pdf", "-j", "2", "--run-id", "k1")
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while len(workers) < 2:
        assert time.monotonic() < deadline and run.poll() is None, "no drawing processes"
        workers = [c for c in _children(run.pid) if _alive(c)]
        time.sleep(0.05)
    time.sleep(0.5)  # drawing
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)], "drawing processes outlived their run"
    done = start("big.csv", "-o", "run.pdf", "-j", "2", "--run-id", "k1")
    assert done.wait(timeout=300) == 0, done.stderr.read()  # type: ignore[union-attr]
    assert page_count(Path("run.pdf")) == 6000
    assert not list(Path.cwd().glob(".*.part")) and not list(Path.cwd().glob(".*.lock"))
