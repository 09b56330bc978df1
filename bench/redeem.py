"""Redemption benchmark: redemptions per second for 1, 4 and 16 concurrent clients.

    python bench/redeem.py [--redemptions 2000] [--clients 1,4,16] [--postgres URL]

Each client is a process with its own connection, redeeming its share of freshly issued
codes through certgen.redeem.redeem (check symbol, conditional UPDATE with its event in one
transaction, then a read of the record), as the CLI and the web page do. PostgreSQL runs
when --postgres or CERTGEN_TEST_POSTGRES_URL names a server; each run gets a new schema.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from certgen import codes
from certgen import redeem as r
from certgen.ledger import BatchRecord, CertificateRecord, open_ledger

AT = "2026-11-23T12:00:00+00:00"


def issue(url: str, count: int) -> list[str]:
    made = [codes.generate() for _ in range(count)]
    records = [
        CertificateRecord(
            code, "bench", "o.pdf", i + 1, i + 2, "classic", "h", "Friend", "Jane", {}, AT, None
        )
        for i, code in enumerate(made)
    ]
    with open_ledger(url) as ledger:
        ledger.issue_batch(
            BatchRecord("bench", "classic", "h", "b.csv", "o.pdf", count, AT), records
        )
    return made


def client(url: str, share: list[str], barrier: Any, results: Any) -> None:
    with open_ledger(url) as ledger:
        barrier.wait()
        start = time.perf_counter()
        ok = sum(r.redeem(ledger, code, actor="bench").outcome.ok for code in share)
        results.put((start, time.perf_counter(), ok))


def run(url: str, clients: int, total: int) -> float:
    made = issue(url, total)
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(clients), context.Queue()
    shares = [made[i::clients] for i in range(clients)]
    workers = [context.Process(target=client, args=(url, s, barrier, results)) for s in shares]
    for worker in workers:
        worker.start()
    spans = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    assert sum(ok for _, _, ok in spans) == total, "every code redeems exactly once"
    elapsed = max(end for _, end, _ in spans) - min(start for start, _, _ in spans)
    return float(total / elapsed)


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'ledger.db'}"


@contextmanager
def postgres_url(base: str) -> Iterator[str]:
    schema = f"bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redemptions", type=int, default=2000)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--postgres", default=os.environ.get("CERTGEN_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    engines: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = [("sqlite", sqlite_url)]
    if args.postgres:
        engines.append(("postgres", functools.partial(postgres_url, args.postgres)))
    else:
        print("postgres: not run (give --postgres URL or set CERTGEN_TEST_POSTGRES_URL)")
    print(f"{args.redemptions} redemptions per run, each client a process; this machine")
    print(f"{'engine':>9} {'clients':>8} {'redeem/s':>9}")
    for name, make_url in engines:
        for clients in (int(n) for n in args.clients.split(",")):
            with make_url() as url:
                print(f"{name:>9} {clients:>8} {run(url, clients, args.redemptions):>9.0f}")


if __name__ == "__main__":
    main()
