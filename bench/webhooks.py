"""Webhook benchmark: what a receiver costs the ledger, and how fast the outbox empties.

    python bench/webhooks.py [--certificates 10000] [--postgres URL]

For each engine, seeds ``--certificates`` (tests/seeding.py: issues, views, redemptions,
conversions) twice in one run: with no receiver (the baseline) and with one listening to
every event, and prints the seconds each took (what writing the outbox in the same
transactions costs). Then drains the outbox to a real HTTP receiver on loopback (keep-alive,
answering 200 at once) and prints deliveries per second: the sender's own ceiling, a real
receiver over a network is slower.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import worktree
from redeem import postgres_url  # a schema of its own, dropped after

sys.path.insert(0, str(worktree.ROOT))
from certgen import webhooks  # noqa: E402
from certgen.ledger import open_ledger  # noqa: E402
from tests.receiver import receiving  # noqa: E402
from tests.seeding import seed  # noqa: E402


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'ledger.db'}"


def seconds_to_seed(url: str, count: int, receiver: str | None) -> tuple[float, int]:
    with open_ledger(url) as ledger:
        if receiver:
            ledger.add_webhook(receiver, webhooks.WEBHOOK_EVENTS, "whsec_bench_secret", "now")
        start = time.perf_counter()
        seed(ledger, count, today=dt.date.today())
        took = time.perf_counter() - start
        events = ledger.counts().get("events", 0)
    return took, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("CERTGEN_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    engines = [("sqlite", sqlite_url)]
    if args.postgres:
        engines.append(("postgres", lambda: postgres_url(args.postgres)))
    else:
        print("postgres: not run (give --postgres URL or set CERTGEN_TEST_POSTGRES_URL)")
    print(f"{args.certificates} certificates seeded per run; this machine")
    print(f"{'engine':>9} {'events':>7} {'seed s':>7} {'+hook s':>8} {'cost':>6} {'deliver/s':>10}")
    for name, make in engines:
        with make() as baseline_url:
            plain, _ = seconds_to_seed(baseline_url, args.certificates, None)
        with make() as url, receiving() as receiver:
            hooked, events = seconds_to_seed(url, args.certificates, receiver.url)
            with open_ledger(url) as ledger:
                sender = webhooks.Sender(ledger)
                start = time.perf_counter()
                tally = sender.drain()
                took = time.perf_counter() - start
                sender.poster.close()
            assert tally.delivered == len(receiver.delivered()) == events, (tally, events)
        cost = hooked / plain - 1
        print(
            f"{name:>9} {events:>7} {plain:>7.2f} {hooked:>8.2f} {cost:>6.0%} "
            f"{tally.delivered / took:>10.0f}"
        )


if __name__ == "__main__":
    main()
