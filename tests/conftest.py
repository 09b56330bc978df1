from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from certgen.ledger import Ledger

REPO = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.web_browser"]  # the browser tests' server and chromium


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current output instead of comparing (review the diff)",
    )


@pytest.fixture
def regen_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-golden"))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A SQLite ledger in the test's folder, with staff Sam (password "pin12345")."""
    from certgen import web
    from certgen.ledger import open_ledger

    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as opened:
        opened.add_staff("Sam", web.hash_password("pin12345"))
        yield opened


@pytest.fixture
def output(request: pytest.FixtureRequest) -> Path:
    """The test output folder for what a person would look at (screenshots): test-output/
    in the checkout, or $CERTGEN_TEST_OUTPUT, one folder a test, kept after the run."""
    root = Path(os.environ.get("CERTGEN_TEST_OUTPUT") or REPO / "test-output")
    folder = root / "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own app folder and working folder, and no outside settings."""
    home = tmp_path / "home"
    monkeypatch.setenv("CERTGEN_HOME", str(home))
    for name in (
        "CERTGEN_LEDGER",
        "CERTGEN_BASE_URL",
        "CERTGEN_DESIGNS",
        "CERTGEN_TIMEZONE",
        "CERTGEN_LOGO",
        "CERTGEN_DESIGN",
        "CERTGEN_PROFILE",
        "CERTGEN_DATE_FORMAT",
        "CERTGEN_LOCALE",
    ):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


def _postgres_url() -> str:
    url = os.environ.get("CERTGEN_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CERTGEN_TEST_POSTGRES_URL is not set (.ci/run sets it)")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger on each engine: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    base = _postgres_url()
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()
