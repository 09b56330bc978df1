"""Batch actions that cannot do damage by accident: no file of another run written over, no
output that is not a PDF."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.test_cli import invoke


def count(env: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{env / 'ledger.db'}")
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT count(*) FROM certificates")).scalar_one()
    engine.dispose()
    return int(found)


def issue(*args: str) -> tuple[int, str, str]:
    return invoke("issue", *args, "-d", "compact", "--set", "business=Bright Smile", "-q")


def test_an_output_that_is_not_a_pdf_is_refused(env: Path) -> None:
    code, _, err = issue("--to", "Bob", "-o", "out.png")
    assert code == 2 and "-o out.png: certgen writes PDF files; name the output .pdf" in err
    assert not Path("out.png").exists()


def test_another_runs_file_is_not_written_over_unless_forced(env: Path) -> None:
    assert issue("--to", "Bob", "-o", "gift.pdf")[0] == 0
    before = Path("gift.pdf").read_bytes()
    code, _, err = issue("--to", "Ann", "-o", "gift.pdf")
    assert code == 1 and "gift.pdf already exists: certgen does not write over a file" in err
    assert "--force" in err
    assert Path("gift.pdf").read_bytes() == before and count(env) == 1  # nothing recorded
    assert issue("--to", "Ann", "-o", "gift.pdf", "--force")[0] == 0
    assert Path("gift.pdf").read_bytes() != before and count(env) == 2


def test_a_reprint_writes_its_own_file_again(env: Path) -> None:
    Path("list.csv").write_text("to,from\nBob,Jane\nAnn,Jane\n")
    assert issue("list.csv", "--run-id", "spring", "-o", "spring.pdf")[0] == 0
    code, out, err = issue("list.csv", "--run-id", "spring", "-o", "spring.pdf")
    assert code == 0, err
    assert "was already issued" in out
    assert count(env) == 2


def test_a_split_runs_parts_and_manifest_are_not_written_over(env: Path) -> None:
    Path("list.csv").write_text("to,from\n" + "".join(f"F{i},G{i}\n" for i in range(5)))
    assert issue("list.csv", "--split", "2", "-o", "run.pdf")[0] == 0
    code, _, err = issue("list.csv", "--split", "2", "-o", "run.pdf", "--run-id", "other")
    assert code == 1
    assert "run-0001.pdf" in err and "and 1 more already exist" in err
    assert count(env) == 5


def test_the_same_list_again_is_refused_with_the_ways_on(env: Path) -> None:
    import shlex

    Path("list.csv").write_text("to,from\nBob,Jane\nAnn,Jane\n")
    code, out, _ = issue("list.csv", "-o", "first.pdf")
    assert code == 0
    run = out.split("batch ")[1].split(",")[0]
    before = Path("first.pdf").read_bytes()
    # The same rows in a copy of the file, to another output: the same list.
    Path("copy.csv").write_text("to,from\nBob,Jane\nAnn,Jane\n")
    code, _, err = issue("copy.csv", "-o", "second.pdf")
    assert code == 15 and count(env) == 2 and not Path("second.pdf").exists()
    assert f"this list was issued before with design compact: run {run} of " in err
    assert "(done); nothing was issued now" in err
    again = next(line for line in err.splitlines() if "print that run again:" in line)
    words = shlex.split(again.split(":", 1)[1])
    assert words[:2] == ["certgen", "issue"] and "--run-id" in words and run in words
    assert str(Path("first.pdf").resolve()) in words and "second.pdf" not in words
    Path("first.pdf").unlink()
    code, out, err = invoke(*words[1:])  # the exact command it gave
    assert code == 0, err
    assert Path("first.pdf").read_bytes() == before and count(env) == 2
    code, _, _ = issue("copy.csv", "-o", "second.pdf", "--new-run")
    assert code == 0 and count(env) == 4


def test_an_interrupted_list_run_again_is_told_to_resume(env: Path) -> None:
    import sqlalchemy as sa

    Path("list.csv").write_text("to,from\n" + "".join(f"F{i},G{i}\n" for i in range(4)))
    assert issue("list.csv", "--split", "2", "-o", "run.pdf", "--run-id", "r1")[0] == 0
    engine = sa.create_engine(f"sqlite:///{env / 'ledger.db'}")
    with engine.begin() as conn:  # as a run killed after its first part leaves the ledger
        codes = [
            c for (c,) in conn.execute(sa.text("SELECT code FROM certificates ORDER BY source_row"))
        ]
        conn.execute(sa.text("DROP TRIGGER IF EXISTS events_no_delete"))
        conn.execute(
            sa.text("DELETE FROM events WHERE code IN (:a, :b)"), {"a": codes[2], "b": codes[3]}
        )
        conn.execute(
            sa.text("DELETE FROM certificates WHERE code IN (:a, :b)"),
            {"a": codes[2], "b": codes[3]},
        )
    engine.dispose()
    Path("run-0002.pdf").unlink()
    code, _, err = issue("list.csv", "--split", "2", "-o", "run.pdf")
    assert code == 15 and "(interrupted, 2 of 4 recorded)" in err
    finish = next(line for line in err.splitlines() if "finish that run:" in line)
    assert "--resume r1" in finish


def test_sending_the_same_list_again_is_refused(env: Path) -> None:
    Path("list.csv").write_text("to,from,email\nBob,Jane,bob@example.com\n")
    send = ["send", "list.csv", "-d", "modern", "--set", "business=B", "--outbox", "out", "-q"]
    assert invoke(*send)[0] == 0
    code, _, err = invoke(*send)
    assert code == 15 and "this list was sent before with design modern" in err
    assert "finish that run:" in err and "print that run again" not in err
    assert len(list(Path("out").glob("*.eml"))) == 1
    assert invoke(*send, "--new-run")[0] == 0
    assert len(list(Path("out").glob("*.eml"))) == 2


def _in_a_terminal(
    args: list[str], env: Path, interrupt_when: int, drawn: str = ""
) -> tuple[int, str]:
    """The real console script on a pseudo-terminal of its own, typed Ctrl-C at once
    ``interrupt_when`` certificates are recorded (and it has shown ``drawn``); its exit
    code and all it wrote."""
    import fcntl
    import os
    import pty
    import shutil
    import subprocess
    import termios
    import time

    exe = shutil.which("certgen")
    assert exe
    leader, follower = pty.openpty()

    def terminal() -> None:  # the pty becomes the run's controlling terminal
        os.setsid()
        fcntl.ioctl(follower, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [exe, *args], stdin=follower, stdout=follower, stderr=follower, preexec_fn=terminal
    )
    os.close(follower)
    os.set_blocking(leader, False)
    output, typed, deadline = b"", False, time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 4096)
            if not chunk:
                break
            output += chunk
        except BlockingIOError:
            time.sleep(0.02)
        except OSError:
            break
        if not typed and (env / "ledger.db").exists() and drawn.encode() in output:
            try:
                if count(env) >= interrupt_when:
                    os.write(leader, b"\x03")  # Ctrl-C, through the terminal
                    typed = True
            except sa.exc.OperationalError:
                pass  # the ledger is being created
        if process.poll() is not None and typed:
            time.sleep(0.2)
            try:
                output += os.read(leader, 65536)
            except OSError:
                pass
            break
    return process.wait(timeout=60), output.decode(errors="replace")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_safely_and_says_the_exact_command_that_finishes(env: Path, jobs: str) -> None:
    import csv
    import shlex
    import subprocess

    from tests.helpers import page_count

    with Path("list.csv").open("w", newline="") as stream:
        rows = [[f"Friend {i}", f"Customer {i % 13}"] for i in range(3000)]
        csv.writer(stream).writerows([["to", "from"], *rows])
    args = ["issue", "list.csv", "-d", "compact", "--set", "business=B", "--split", "500"]
    args += ["-j", jobs, "-o", "run.pdf"]
    code, shown = _in_a_terminal(args, env, interrupt_when=500)
    assert code == 130, shown
    assert "Traceback" not in shown and "Aborted!" not in shown
    recorded = count(env)
    assert 500 <= recorded < 3000 and recorded % 500 == 0  # whole parts, nothing half-done
    assert not list(Path().glob(".*.part"))
    line = next(x for x in shown.splitlines() if x.strip().startswith("certgen issue"))
    assert f"stopped with {recorded} of 3000 certificates recorded" in shown.replace("\r", "")
    finish = shlex.split(line.strip())
    assert "--resume" in finish
    done = subprocess.run(finish, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (finish, shown, done.stderr)
    assert count(env) == 3000
    parts = sorted(Path().glob("run-*.pdf"))
    assert [p.name for p in parts] == [f"run-{n:04d}.pdf" for n in range(1, 7)]
    assert all(page_count(p) == 500 for p in parts)
    with Path("run-manifest.csv").open() as stream:
        manifest = list(csv.DictReader(stream))
    assert [m["recipient"] for m in manifest] == [f"Friend {i}" for i in range(3000)]
    engine = sa.create_engine(f"sqlite:///{env / 'ledger.db'}")
    with engine.connect() as conn:
        recorded_codes = {c for (c,) in conn.execute(sa.text("SELECT code FROM certificates"))}
    engine.dispose()
    from certgen import codes as codes_mod

    assert {codes_mod.normalize(m["code"]) for m in manifest} == recorded_codes


def test_ctrl_c_before_anything_is_recorded_says_so(env: Path) -> None:
    import csv

    with Path("list.csv").open("w", newline="") as stream:
        rows = [[f"Friend {i}", f"Customer {i % 13}"] for i in range(3000)]
        csv.writer(stream).writerows([["to", "from"], *rows])
    args = ["issue", "list.csv", "-d", "compact", "--set", "business=B", "-j", "1"]
    code, shown = _in_a_terminal([*args, "-o", "one.pdf"], env, 0, drawn="1000/3000")
    assert code == 130, shown
    assert "Interrupted before anything was recorded; run the same command again." in shown
    assert count(env) == 0 and not Path("one.pdf").exists()
    assert not list(Path().glob(".*.part"))


def test_a_dry_run_checks_everything_and_records_writes_and_sends_nothing(env: Path) -> None:
    Path("list.csv").write_text(
        "to,from,email,expires\nBob,Jane,bob@example.com,2027-01-01\n"
        "Ann,Jane,ann@example.com,never\nCy,Jo,cy@example.com,\n"
    )
    code, out, err = issue("list.csv", "--dry-run", "-o", "run.pdf")
    assert code == 3 and "row 3, column 'expires'" in err  # the same checks as the run
    code, out, err = issue("list.csv", "--dry-run", "--skip-invalid", "-o", "run.pdf")
    assert code == 0, err
    assert out.startswith("Dry run: 2 certificates would be issued to run.pdf")
    assert "1 row would be left out" in out and "nothing was drawn, written or recorded" in out
    assert not Path("run.pdf").exists() and not Path("run-rejects.csv").exists()
    assert count(env) == 0
    send = ["send", "list.csv", "-d", "modern", "--set", "business=B", "--outbox", "out"]
    code, out, err = invoke(*send, "--skip-invalid", "--dry-run")
    assert code == 0, err
    assert out.startswith("Dry run: 2 emails checked, ready to send (outbox")
    assert not Path("out").exists() and count(env) == 0
    # A file in the way, or the same list again, is said by a dry run too.
    assert issue("list.csv", "--skip-invalid", "-o", "run.pdf")[0] == 14
    code, _, err = issue("list.csv", "--skip-invalid", "--dry-run", "-o", "run.pdf")
    assert code == 15 and "this list was issued before" in err


def _resume_line(text: str) -> list[str]:
    import shlex

    line = next(x for x in text.splitlines() if x.strip().startswith("certgen "))
    return shlex.split(line)[1:]


def test_limit_does_the_first_n_and_resume_the_rest(env: Path) -> None:
    from tests.helpers import page_count, qr_codes

    Path("list.csv").write_text("to,from\n" + "".join(f"F{i},G{i}\n" for i in range(7)))
    code, out, err = issue("list.csv", "--split", "3", "--limit", "4", "-o", "run.pdf")
    assert code == 0, err
    assert "Issued 4 of the run's 7 certificates (--limit 4)" in out and count(env) == 4
    assert page_count(Path("run-0001.pdf")) == 3 and page_count(Path("run-0002.pdf")) == 1
    assert not Path("run-0003.pdf").exists()
    first = qr_codes(Path("run-0001.pdf"))
    rest = _resume_line(out)
    assert "--limit" not in rest and "--resume" in rest
    code, out, err = invoke(*rest)
    assert code == 0, err
    assert count(env) == 7 and "issued the other 3 of 7" in out
    assert [page_count(Path(f"run-000{n}.pdf")) for n in (1, 2, 3)] == [3, 3, 1]
    assert qr_codes(Path("run-0001.pdf")) == first  # the first part kept, codes and all


def test_send_limit_sends_the_first_n_and_resume_the_rest(env: Path) -> None:
    Path("list.csv").write_text(
        "to,from,email\n" + "".join(f"F{i},G{i},f{i}@example.com\n" for i in range(5))
    )
    send = ["send", "list.csv", "-d", "modern", "--set", "business=B", "--outbox", "out"]
    code, out, err = invoke(*send, "--limit", "2")
    assert code == 0, err
    assert "Wrote 2 emails" in out and "The other 3 (--limit 2), when you are ready:" in out
    assert len(list(Path("out").glob("*.eml"))) == 2 and count(env) == 5
    code, out, err = invoke(*_resume_line(out.split("when you are ready:")[1]))
    assert code == 0, err
    assert "Wrote 3 emails" in out and len(list(Path("out").glob("*.eml"))) == 5


def voided(env: Path) -> tuple[int, int]:
    """(certificates voided, voided events) in the ledger."""
    engine = sa.create_engine(f"sqlite:///{env / 'ledger.db'}")
    with engine.connect() as conn:
        done = conn.execute(
            sa.text("SELECT count(*) FROM certificates WHERE voided_at IS NOT NULL")
        )
        events = conn.execute(sa.text("SELECT count(*) FROM events WHERE kind = 'voided'"))
        found = (int(done.scalar_one()), int(events.scalar_one()))
    engine.dispose()
    return found


def test_voiding_a_run_has_a_dry_run_a_limit_and_never_touches_a_redeemed_one(
    env: Path,
) -> None:
    from tests.helpers import qr_codes

    Path("list.csv").write_text("to,from\n" + "".join(f"F{i},G{i}\n" for i in range(7)))
    code, _, err = issue("list.csv", "--run-id", "spring", "-o", "run.pdf")
    assert code == 0, err
    first = qr_codes(Path("run.pdf"))[0][0].rsplit("/", 1)[1]
    assert invoke("redeem", first)[0] == 0
    code, out, err = invoke("void", "--run", "spring", "--reason", "wrong date", "--dry-run")
    assert code == 0, err
    assert out.strip() == (
        "Dry run: 6 of run spring's 7 certificates would be voided (1 redeemed stay); "
        "nothing was recorded"
    )
    assert voided(env) == (0, 0)
    code, out, err = invoke("void", "--run", "spring", "--reason", "wrong date", "--limit", "2")
    assert code == 0, err
    assert "Voided 2 of run spring's 7 certificates (1 redeemed stay)" in out
    rest = _resume_line(out)
    assert rest[:3] == ["void", "--run", "spring"] and "--limit" not in rest
    assert voided(env) == (2, 2)
    code, out, err = invoke(*rest)
    assert code == 0, err
    assert "Voided 4 of run spring's 7 certificates (1 redeemed stay, 2 were void already)" in out
    assert voided(env) == (6, 6)
    code, out, _ = invoke(*rest)  # again: nothing left, nothing recorded twice
    assert code == 0 and "Voided 0 of run spring's 7" in out and voided(env) == (6, 6)
    assert invoke("redeem", qr_codes(Path("run.pdf"))[1][0].rsplit("/", 1)[1])[0] == 10
    code, _, err = invoke("void", "--run", "nosuch", "--reason", "x")
    assert code == 6 and "no run nosuch" in err
    code, _, err = invoke("void", first, "--run", "spring", "--reason", "x")
    assert code == 2 and "give a CODE, or --run ID" in err
    code, _, err = invoke("void", first, "--reason", "x", "--dry-run")
    assert code == 2 and "--dry-run and --limit are for --run" in err


def test_resume_refuses_a_list_changed_past_the_rows_it_recorded(env: Path) -> None:
    Path("list.csv").write_text("to,from\n" + "".join(f"F{i},G{i}\n" for i in range(6)))
    assert issue("list.csv", "--limit", "2", "--run-id", "r1", "-o", "run.pdf")[0] == 0
    Path("list.csv").write_text(
        "to,from\n" + "".join(f"F{i},G{i}\n" for i in range(5)) + "Someone else,G5\n"
    )
    code, _, err = issue("list.csv", "--resume", "r1", "-o", "run.pdf")
    assert code == 3 and "run r1 was made from another list" in err
    assert count(env) == 2


@pytest.mark.parametrize(
    ("first", "then", "named"),
    [
        (["--base-url", "https://a.example"], ["--base-url", "https://b.example"],
         "--base-url was 'https://a.example', now 'https://b.example'"),
        (["--sheet", "letter-3up"], ["--sheet", "letter-2up"], "--sheet"),
        (["--sheet", "letter-2up"], ["--sheet", "letter-2up", "--gutter", "4"], "--sheet"),
        (["--split", "2"], [], "--split was '2', now not given"),
        ([], ["--sort-by", "to"], "the rows are in another order (--sort-by, --order)"),
    ],
)  # fmt: skip
def test_a_reprint_or_resume_with_other_options_is_refused_naming_them(
    env: Path, first: list[str], then: list[str], named: str
) -> None:
    Path("list.csv").write_text("to,from\nZoe,G\nAnn,G\nBob,G\n")
    assert issue("list.csv", "--run-id", "r1", "-o", "a.pdf", "--limit", "1", *first)[0] == 0
    for again in (["--resume", "r1"], ["--run-id", "r1"]):
        code, _, err = issue("list.csv", *again, "-o", "a.pdf", *then)
        assert code == 3 and "run r1 was made with other options: " in err and named in err, err
    assert count(env) == 1  # the limited first part only; nothing recorded since
    code, out, err = issue("list.csv", "--resume", "r1", "-o", "a.pdf", *first)
    assert code == 0, err


def test_a_send_resumed_with_another_base_url_is_refused(env: Path) -> None:
    Path("list.csv").write_text("to,from,email\nAnn,G,ann@example.com\nBob,G,bob@example.com\n")
    send = ["send", "list.csv", "-d", "modern", "--set", "business=B", "--outbox", "out"]
    assert (
        invoke(*send, "--limit", "1", "--run-id", "m1", "--base-url", "https://a.example")[0] == 0
    )
    code, _, err = invoke(*send, "--resume", "m1", "--base-url", "https://b.example")
    assert code == 3 and "--base-url was 'https://a.example', now 'https://b.example'" in err
    assert len(list(Path("out").glob("*.eml"))) == 1
