"""The command line as a user runs it: output, errors on stderr, exit codes."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from certgen import codes, qr
from certgen.cli import cli
from certgen.ledger import MIGRATIONS, open_ledger
from tests.helpers import REPO_ROOT, qr_codes, words

SAMPLES = REPO_ROOT / "samples"


def certgen(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, in a real process."""
    exe = shutil.which("certgen")
    assert exe, "the certgen console script is not installed"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def issued_code(stdout: str) -> str:
    match = re.search(r"Code: (\S+)", stdout)
    assert match, stdout
    return codes.normalize(match.group(1))


def test_rep_prints_one_certificate_from_options(env: Path) -> None:
    done = certgen(
        "issue",
        "--design",
        "classic",
        "--to",
        "Bob Ng",
        "--from",
        "Jane Doe",
        "--set",
        "business=Riverside Auto Care",
        "--pain",
        "Tired of squeaky brakes?",
        "--offer",
        "A free brake check",
        "--expires",
        "2027-01-31",
        "-o",
        "bob.pdf",
    )
    assert done.returncode == 0, done.stderr
    assert re.match(
        r"Issued 1 certificate to bob\.pdf in \d+\.\d s \(design classic, batch ", done.stdout
    )
    assert f"ledger sqlite:///{env / 'ledger.db'}" in done.stdout
    assert "QR codes point to http://localhost:8000" in done.stderr
    code = issued_code(done.stdout)
    assert qr_codes(Path("bob.pdf")) == [[qr.redeem_url("http://localhost:8000", code)]]
    text = " ".join(w.text for w in words(Path("bob.pdf")))
    for expected in (
        "Bob Ng",
        "Jane Doe",
        "Tired of squeaky brakes?",
        "A free brake check",
        "31 January 2027",
        "Riverside Auto Care",
        codes.display(code),
    ):
        assert expected in text


def test_sample_run_and_show(env: Path, tmp_path: Path) -> None:
    samples = shutil.copytree(SAMPLES, tmp_path / "samples")  # as a checkout has them
    done = certgen(
        "issue",
        str(samples / "customers.csv"),
        "--design",
        "classic",
        "--config",
        str(samples / "certgen.toml"),
        "-o",
        "run.pdf",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Issued 10 certificates to run.pdf")
    assert done.stderr == ""  # the sample config sets a base URL and the business's details
    urls = [found for [found] in qr_codes(Path("run.pdf"))]
    assert all(u.startswith("https://gifts.riverside-auto.example/r/") for u in urls)
    code = codes.normalize(urls[2])
    # The samples keep a ledger of their own beside their certgen.toml, never the user's.
    assert not (env / "ledger.db").exists()
    assert (samples / "sample-ledger.db").is_file()
    config = ["--config", str(samples / "certgen.toml")]
    for typed in (codes.display(code).lower(), code, " ".join(codes.display(code).split("-"))):
        exit_code, out, err = invoke("show", typed, *config)
        assert exit_code == 0, err
        assert "To:      Ελένη Παπαδοπούλου" in out and "From:    Νίκος Γεωργίου" in out
        assert f"File:    {Path('run.pdf').resolve()}, page 3" in out
        assert re.search(rf"issued +by {re.escape(getpass.getuser())} via cli", out)


def test_csv_columns_map_with_map_and_options_become_campaign_defaults(tmp_path: Path) -> None:
    Path("people.csv").write_text("Customer Name,Friend,Pain\nJane,Bob,\nAnn,Cy,Tired of rust?\n")
    exit_code, out, err = invoke(
        "issue",
        "people.csv",
        "-d",
        "compact",
        "--map",
        "Customer Name=from",
        "--set",
        "business=Acme",
        "--pain",
        "Tired of noise?",
        "-o",
        "run.pdf",
    )
    assert exit_code == 0, err
    first, second = (" ".join(w.text for w in words(Path("run.pdf"), p)) for p in (0, 1))
    assert "Jane" in first and "Bob" in first and "Tired of noise?" in first
    assert "Tired of rust?" in second


def test_bad_csv_lists_every_problem_on_stderr_and_issues_nothing(env: Path) -> None:
    Path("bad.csv").write_text(
        "Recipent,From,Expires\nBob,Jane,2027-13-01\nAnn\n"
        "Ok,BartholomewMaximilianFeatherstonehaughMontgomeryWolfgangsson,2027-01-01\n"
    )
    done = certgen("issue", "bad.csv", "-d", "classic", "--set", "business=Acme", "-o", "out.pdf")
    assert done.returncode == 3 and done.stdout == ""
    assert "4 problems in the input; nothing was issued:" in done.stderr
    assert (
        "bad.csv, row 1, column 'Recipent': unknown column (did you mean 'recipient'?"
        in done.stderr
    )
    assert "bad.csv, row 2, column 'Expires': '2027-13-01' is not a date" in done.stderr
    assert "bad.csv, row 3: has 1 fields; the header has 3" in done.stderr
    assert "bad.csv, row 4, column 'From': 'Bartholomew" in done.stderr
    assert "does not fit element 'giver'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not Path("out.pdf").exists()
    assert not (env / "ledger.db").exists() or _no_records(env)


def _no_records(env: Path) -> bool:
    with open_ledger(f"sqlite:///{env / 'ledger.db'}") as ledger, ledger.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM certificates")).scalar() == 0


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (b"", [], "the file is empty"),
        (
            b"to\nRen\xe9e\n",
            ["--encoding", "utf-8"],
            "row 2: byte 0xE9 at offset 6 is not valid UTF-8",
        ),
        (b"to,from\nBob,Jane\n" + b"x," * 3 + b"\n", [], "row 3: has 4 fields"),
    ],
)
def test_more_bad_input_exit_3(content: bytes, options: list[str], message: str) -> None:
    Path("in.csv").write_bytes(content)
    exit_code, out, err = invoke(
        "issue", "in.csv", "-d", "classic", "--set", "business=A", *options
    )
    assert exit_code == 3 and message in err and out == ""


def test_encoding_option_reads_windows_files() -> None:
    Path("in.csv").write_bytes("to\nRenée\n".encode("cp1252"))
    exit_code, out, err = invoke(
        "issue", "in.csv", "-d", "classic", "--set", "business=A", "--encoding", "cp1252"
    )
    assert exit_code == 0, err
    assert "Renée" in " ".join(w.text for w in words(Path("certificates.pdf")))


def test_usage_errors_exit_2() -> None:
    Path("in.csv").write_text("to\nBob\n")
    assert invoke("issue", "in.csv", "-d", "classic", "--to", "Bob")[0] == 2
    assert invoke("issue", "-d", "classic", "--set", "novalue")[0] == 2
    assert invoke("issue")[0] == 2


def test_design_errors_exit_4() -> None:
    exit_code, _, err = invoke("issue", "-d", "clasic", "--set", "business=A")
    assert exit_code == 4 and "did you mean 'classic'?" in err


def test_unreachable_ledger_exits_5_without_password() -> None:
    exit_code, _, err = invoke(
        "issue",
        "-d",
        "classic",
        "--set",
        "business=A",
        "--ledger",
        "postgresql://u:topsecret@127.0.0.1:1/x",
    )
    assert exit_code == 5 and "topsecret" not in err and "127.0.0.1:1/x" in err
    assert len(err.strip().splitlines()) == 1
    assert not Path("certificates.pdf").exists()


def test_output_folder_that_does_not_exist() -> None:
    exit_code, out, err = invoke(
        "issue", "-d", "classic", "--set", "business=A", "-o", "nowhere/x.pdf"
    )
    assert exit_code == 1 and "does not exist" in err and "nowhere" in err and out == ""


def test_show_unknown_and_mistyped_codes() -> None:
    code = codes.generate()
    exit_code, _, err = invoke("show", code)
    assert exit_code == 6 and "is not in the ledger" in err
    typo = code[:3] + ("0" if code[3] != "0" else "1") + code[4:]
    exit_code, _, err = invoke("show", typo)
    assert exit_code == 7 and "not a valid certificate code" in err


def test_ledger_option_env_and_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("ledger", "path")[1].strip().startswith("sqlite:///")
    monkeypatch.setenv("CERTGEN_LEDGER", f"sqlite:///{tmp_path / 'env.db'}")
    assert invoke("ledger", "path")[1].strip() == f"sqlite:///{tmp_path / 'env.db'}"
    url = f"sqlite:///{tmp_path / 'flag.db'}"
    assert invoke("ledger", "path", "--ledger", url)[1].strip() == url
    exit_code, out, _ = invoke("issue", "-d", "classic", "--set", "business=A", "--ledger", url)
    assert exit_code == 0 and (tmp_path / "flag.db").exists()


def test_postgres_ledger_from_the_command_line(ledger_url: str) -> None:
    exit_code, out, err = invoke(
        "issue", "-d", "modern", "--to", "Bob", "--set", "business=A", "--ledger", ledger_url
    )
    assert exit_code == 0, err
    exit_code, shown, err = invoke("show", issued_code(out), "--ledger", ledger_url)
    assert exit_code == 0 and "To:      Bob" in shown


def test_every_command_has_help_and_h() -> None:
    for args in ([], ["issue"], ["show"], ["ledger"], ["ledger", "path"]):
        for flag in ("-h", "--help"):
            exit_code, out, _ = invoke(*args, flag)
            assert exit_code == 0 and "Usage:" in out


def test_python_dash_m_and_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "certgen", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("certgen, version ")


def _commands(group: click.Group, prefix: str = "certgen") -> list[tuple[str, click.Command]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix} {name}")
    return found


def test_every_command_and_issue_option_is_documented() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    for name, command in _commands(cli):
        assert f"`{name}" in readme, f"{name} is not in the README"
        assert command.help, f"{name} has no help"
    issue = cli.get_command(click.Context(cli), "issue")
    assert issue is not None
    for param in issue.params:
        if isinstance(param, click.Option) and param.name not in (
            "config_file",
            "ledger",
            "designs_dir",
        ):
            assert any(f"`{opt}" in readme for opt in param.opts), (
                f"issue {param.opts} is not in the README"
            )


def test_redeem_void_convert_exit_codes_as_a_script_sees_them(env: Path) -> None:
    Path("two.csv").write_text("to,from\nBob,Jane\nAnn,Jane\n")
    done = certgen("issue", "two.csv", "-d", "compact", "--set", "business=A", "--batch-id", "b1")
    assert done.returncode == 0, done.stderr
    with open_ledger(f"sqlite:///{env / 'ledger.db'}") as ledger:
        first, second = (r.code for r in ledger.batch("b1"))
    shown = codes.display(first).lower()
    steps = [
        (["redeem", shown, "--by", "Sam", "--note", "walk-in"], 0, "redeemed"),
        (["redeem", first], 8, "already redeemed on"),
        (["void", first, "--reason", "oops"], 8, "cannot be voided"),
        (["convert", first, "--value", "120.50"], 0, "converted"),
        (["convert", first], 12, "already converted"),
        (["void", second, "--reason", "lost"], 0, "voided"),
        (["redeem", second], 10, "was voided on"),
        (["convert", second], 11, "was voided; a voided certificate is never converted"),
        (["redeem", codes.generate()], 6, "is not in the ledger"),
        (
            ["redeem", first[:-1] + ("0" if first[-1] != "0" else "1")],
            7,
            "not a valid certificate code",
        ),
    ]
    for args, expected, message in steps:
        result = certgen(*args)
        assert result.returncode == expected, (args, result.stdout, result.stderr)
        assert message in (result.stdout if expected == 0 else result.stderr), (args, result)
    history = certgen("show", first).stdout
    assert "Status:  redeemed" in history and "by Sam via cli" in history
    assert re.search(r"Customer:converted \S+, value 120\.50", history), history
    for kind in ("issued", "redeemed", "redeem_failed", "converted"):
        assert re.search(rf"  {kind} +by ", history), kind


def test_redeem_against_an_unreachable_ledger_is_one_line() -> None:
    exit_code, _, err = invoke(
        "redeem", codes.generate(), "--ledger", "postgresql://u:pw@127.0.0.1:1/x"
    )
    assert exit_code == 5 and "pw@" not in err and len(err.strip().splitlines()) == 1


def test_read_only_ledger_is_one_line(tmp_path: Path) -> None:
    Path("one.csv").write_text("to\nBob\n")
    url = f"sqlite:///{tmp_path / 'l.db'}"
    assert (
        invoke("issue", "one.csv", "-d", "compact", "--set", "business=A", "--ledger", url)[0] == 0
    )
    with open_ledger(url) as ledger, ledger.engine.connect() as conn:
        code = conn.execute(sa.text("SELECT code FROM certificates")).scalar()
    read_only = f"sqlite:///file:{tmp_path / 'l.db'}?mode=ro&uri=true"
    exit_code, _, err = invoke("redeem", str(code), "--ledger", read_only)
    assert exit_code == 5 and "read-only here" in err and len(err.strip().splitlines()) == 1


def test_issue_records_who_issued() -> None:
    exit_code, out, _ = invoke("issue", "-d", "compact", "--set", "business=A", "--by", "Rep Ann")
    assert exit_code == 0
    assert re.search(r"issued +by Rep Ann via cli", invoke("show", issued_code(out))[1])


def test_ledger_migrate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    exit_code, out, _ = invoke("ledger", "migrate", "--ledger", url)
    assert exit_code == 0
    assert f"applied {', '.join(name for name, _ in MIGRATIONS)}" in out
    assert invoke("ledger", "migrate", "--ledger", url)[1].strip().endswith("up to date")


def test_staff_add_list_token_remove(env: Path) -> None:
    assert certgen("staff", "add", "Sam", "--password-stdin").returncode != 0  # empty password
    done = subprocess.run(
        [shutil.which("certgen") or "", "staff", "add", "Sam", "--password-stdin"],
        input="pin12345\n",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stdout.strip() == "Added Sam (staff)"
    again = subprocess.run(
        [shutil.which("certgen") or "", "staff", "add", "Sam", "--password-stdin"],
        input="pin12345\n",
        capture_output=True,
        text=True,
    )
    assert again.returncode == 5 and "already exists" in again.stderr
    token = invoke("staff", "token", "Sam")[1].strip()
    assert len(token) >= 40
    [line] = invoke("staff", "list")[1].splitlines()
    assert line.startswith("Sam\tstaff\tadded ") and line.endswith("\t1 API token")
    with open_ledger(f"sqlite:///{env / 'ledger.db'}") as ledger:
        stored = ledger.password_hash("Sam")
        assert stored and "pin12345" not in stored and token not in repr(ledger.tokens())
    assert invoke("staff", "remove", "Sam")[0] == 0
    assert invoke("staff", "remove", "Sam")[0] == 6
    assert invoke("staff", "token", "Nobody")[0] == 6


def test_a_full_disk_is_one_line_not_a_traceback(env: Path) -> None:
    assert invoke("issue", "-d", "compact", "--set", "business=A", "-q")[0] == 0
    done = certgen("ledger", "export", "/dev/full")
    assert done.returncode == 1 and "No space left on device" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_bug_is_one_line_and_a_report_not_a_traceback(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault put in on purpose: whatever certgen itself gets wrong, the user sees one line
    saying so, exit 70, and the report to send."""
    from certgen import redeem

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(redeem, "redeem", broken)
    code, _, err = invoke("redeem", codes.display(codes.generate()))
    assert code == 70 and "certgen failed unexpectedly (ZeroDivisionError: a bug)" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    [report] = list((env / "crashes").glob("certgen-crash-*.txt"))
    assert "ZeroDivisionError: a bug" in report.read_text() and "Traceback" in report.read_text()


HEAVY = ("reportlab", "sqlalchemy", "flask", "werkzeug", "jinja2", "pydantic", "email", "smtplib")


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"]])
def test_help_and_version_import_no_command(args: list[str]) -> None:
    """What a person waits for: certgen --help and --version load click and certgen's group,
    not SQLAlchemy, reportlab, Flask or the mail stack (their time is the start-up)."""
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['certgen', *{args!r}]\n"
        "try:\n    runpy.run_module('certgen', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


DAILY = ["issue", "send", "show", "redeem", "void", "convert", "report", "runs", "verify"]


@pytest.mark.parametrize("command", DAILY)
def test_the_daily_commands_help_and_completion_import_no_command(command: str) -> None:
    """A rep's and the counter's commands: their --help and the completion of their options
    load click and the command's module, not the work behind it."""
    for probe_args, environment in (
        ([command, "--help"], {}),
        (
            [],
            {
                "_CERTGEN_COMPLETE": "bash_complete",
                "COMP_WORDS": f"certgen {command} --",
                "COMP_CWORD": "2",
            },
        ),
    ):
        probe = (
            "import sys, runpy\n"
            f"sys.argv = ['certgen', *{probe_args!r}]\n"
            "try:\n    runpy.run_module('certgen', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            env={**os.environ, **environment},
        )
        assert done.returncode == 0, done.stderr
        shown = done.stdout.strip().splitlines()
        assert shown[-1] == "[]", (probe_args, environment, shown[-1])
        assert len(shown) > 1  # the help, or the options completed


def test_the_listing_names_every_command_and_its_module() -> None:
    import importlib

    from certgen.cli import root

    for module in {module for module, _ in root.COMMANDS.values()}:
        importlib.import_module(f"certgen.cli.{module}")
    assert set(root.cli.commands) == set(root.COMMANDS)
    for name, command in root.cli.commands.items():
        assert command.callback is not None
        assert command.callback.__module__ == f"certgen.cli.{root.COMMANDS[name][0]}", name
