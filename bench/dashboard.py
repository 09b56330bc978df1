"""Dashboard benchmark: how long the owner waits for /dashboard on a big ledger.

    python bench/dashboard.py [--certificates 100000] [--requests 20] [--postgres URL]
    python bench/dashboard.py --sqlite /tmp/big.db   # keep (and reuse) the seeded file

Seeds a ledger with ``--certificates`` (tests/seeding.py: 3 campaigns, 2 variants, 4
referrers, views, redemptions at two locations, conversions), starts a real `certgen serve`
on it, signs in as an owner and times GET /dashboard (all of it, over HTTP: the queries, the
folding, the page) beside GET / (the server's floor, in the same run), median and slowest of
``--requests``. Then prints how each engine plans the dashboard's queries, to show they read
indexes. PostgreSQL runs when --postgres or CERTGEN_TEST_POSTGRES_URL names a server, in a
schema of its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
import worktree
from redeem import postgres_url  # a schema of its own, dropped after
from serve import free_port

sys.path.insert(0, str(worktree.ROOT))
from certgen.ledger import open_ledger  # noqa: E402
from certgen.web import hash_password  # noqa: E402
from tests.seeding import seed  # noqa: E402

PIN = "pin12345"


def seeded(url: str, count: int) -> float:
    """Seconds spent seeding (0 when the ledger already holds certificates)."""
    start = time.perf_counter()
    with open_ledger(url) as ledger:
        if ledger.counts()["certificates"]:
            return 0.0
        seed(ledger, count, today=dt.date.today(), password_hash=hash_password(PIN))
        ledger.add_staff("Olivia", hash_password(PIN), role="owner")
    return time.perf_counter() - start


@contextmanager
def serving(url: str) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        env = worktree.environment(worktree.ROOT, Path(home)) | {"CERTGEN_LEDGER": url}
        process = subprocess.Popen(
            [sys.executable, "-m", "certgen", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()  # noqa: S310
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def signed_in(base: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    form = opener.open(f"{base}/signin?next=/dashboard").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, "no CSRF field on the sign-in page"
    body = urllib.parse.urlencode(
        {"csrf": csrf.group(1), "name": "Olivia", "password": PIN, "next": "/dashboard"}
    ).encode()
    signing_in = urllib.request.Request(f"{base}/signin", data=body, method="POST")  # noqa: S310
    opener.open(signing_in).read()
    return opener


def timed(opener: urllib.request.OpenerDirector, url: str, requests: int) -> tuple[float, float]:
    """Median and slowest milliseconds of ``requests`` GETs (after one to warm up)."""
    opener.open(url).read()
    took = []
    for _ in range(requests):
        start = time.perf_counter()
        with opener.open(url) as answer:
            answer.read()
            assert answer.status == 200
        took.append((time.perf_counter() - start) * 1000)
    return statistics.median(took), max(took)


def plans(url: str) -> list[str]:
    """How the engine runs each of the dashboard's queries."""
    from certgen.ledger import expiring_where, referrers_query, rollup_query

    with open_ledger(url) as ledger:
        engine = ledger.engine
        today = dt.date.today()
        month = (today + dt.timedelta(days=30)).isoformat()
        queries = {
            "rollup": rollup_query(today.isoformat(), None, None),
            "rollup, 8 weeks": rollup_query(
                today.isoformat(), (today - dt.timedelta(weeks=8)).isoformat(), None
            ),
            "referrers": referrers_query(today.isoformat(), None, None),
            "expiring": sa.select(sa.func.count()).where(expiring_where(today.isoformat(), month)),
        }
        lines = []
        with engine.connect() as conn:
            for name, query in queries.items():
                sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
                if engine.dialect.name == "sqlite":
                    found = [row[-1] for row in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))]
                else:
                    found = [row[0].strip() for row in conn.execute(sa.text(f"EXPLAIN {sql}"))]
                lines.append(f"  {name}: " + " | ".join(found))
        return lines


def settled(url: str) -> None:
    """PostgreSQL's statistics and visibility map as autovacuum leaves them on a live ledger."""
    if url.startswith("postgresql"):
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE certificates"))
        engine.dispose()


def measure(engine: str, url: str, count: int, requests: int) -> None:
    took = seeded(url, count)
    settled(url)
    with open_ledger(url) as ledger:
        held = ledger.counts()["certificates"]
    with serving(url) as base:
        opener = signed_in(base)
        floor = timed(opener, f"{base}/", requests)
        whole = timed(opener, f"{base}/dashboard", requests)
        since = (dt.date.today() - dt.timedelta(weeks=8)).isoformat()
        ranged = timed(opener, f"{base}/dashboard?since={since}&period=month", requests)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:
        env = worktree.environment(worktree.ROOT, Path(home)) | {"CERTGEN_LEDGER": url}
        target = Path(home) / "report.html"
        subprocess.run(
            [sys.executable, "-m", "certgen", "report", "--format", "html", "-o", str(target)],
            env=env,
            check=True,
            capture_output=True,
        )
        size = target.stat().st_size
    report = (time.perf_counter() - start) * 1000
    seeding = f", seeded in {took:.0f} s" if took else ""
    print(f"{engine}: {held:,} certificates{seeding}")
    print(f"  GET /                      median {floor[0]:6.1f} ms, slowest {floor[1]:6.1f} ms")
    print(f"  GET /dashboard             median {whole[0]:6.1f} ms, slowest {whole[1]:6.1f} ms")
    print(f"  GET /dashboard?since=...   median {ranged[0]:6.1f} ms, slowest {ranged[1]:6.1f} ms")
    print(f"  certgen report --format html: {report:.0f} ms wall, {size / 1024:.0f} KiB file")
    print("\n".join(plans(url)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--sqlite", type=Path, help="the SQLite file to seed or reuse")
    parser.add_argument("--postgres", default=os.environ.get("CERTGEN_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.sqlite or Path(folder) / "ledger.db"
        measure("SQLite", f"sqlite:///{path}", args.certificates, args.requests)
    if args.postgres:
        with postgres_url(args.postgres) as url:
            measure("PostgreSQL", url, args.certificates, args.requests)
    else:
        print("PostgreSQL: skipped (give --postgres URL or set CERTGEN_TEST_POSTGRES_URL)")


if __name__ == "__main__":
    main()
