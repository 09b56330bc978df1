"""Webhooks against a real HTTP receiver on loopback: every event listened to arrives, signed,
once after a 2xx, in order per certificate; failures (500, a timeout, no listener) are tried
again later and none is lost; a killed sender's claims are taken over; the README's
verification recipe checks the real requests."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from certgen import webhooks
from certgen.cli import cli
from certgen.ledger import Ledger, open_ledger
from certgen.ledger.schema import events, webhook_outbox
from tests.receiver import Receiver, free_port, receiving
from tests.seeding import seed

REPO = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 12, 1)
SECRET = "whsec_test_secret_0123456789"


@pytest.fixture
def hooked(ledger_url: str) -> Iterator[Ledger]:
    with open_ledger(ledger_url) as opened:
        yield opened


class Clock:
    """The sender's time, moved on by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def later(self, seconds: float) -> None:
        self.now += seconds


def recorded(ledger: Ledger, kinds: tuple[str, ...]) -> dict[int, str]:
    """Event id -> code of every recorded event of these kinds, counted by SQL."""
    with ledger.engine.connect() as conn:
        rows = conn.execute(sa.select(events.c.id, events.c.code).where(events.c.kind.in_(kinds)))
        return dict(rows.all())


def verify_readme() -> Callable[..., bool]:
    """The receiver's check as the README gives it, run as written."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- webhook-verify -->\s*```python\n(.*?)```\s*<!-- /webhook-verify -->", text, re.S
    )
    assert block, "the README's verification recipe is missing"
    scope: dict[str, Any] = {}
    exec(compile(block.group(1), "README.md", "exec"), scope)  # noqa: S102 - our README
    return scope["verify"]  # type: ignore[no-any-return]


def in_order_once(receiver: Receiver, expected: dict[int, str]) -> None:
    """Each expected event answered 2xx exactly once, and each certificate's in order."""
    delivered = receiver.delivered()
    ids = [int(event["id"].removeprefix("evt_")) for event in delivered]
    assert sorted(ids) == sorted(expected), "an event is missing or was delivered twice"
    last: dict[str, int] = {}
    for event_id in ids:
        code = expected[event_id]
        assert last.get(code, 0) < event_id, f"{code}: event {event_id} came after a later one"
        last[code] = event_id


def test_every_event_reaches_its_receivers_signed_once_in_order(hooked: Ledger) -> None:
    check = verify_readme()
    with receiving() as everything, receiving() as crm:
        all_kinds = webhooks.WEBHOOK_EVENTS
        hooked.add_webhook(everything.url, all_kinds, SECRET, "2026-12-01T00:00:00+00:00")
        sales = ("redeemed", "converted")
        hooked.add_webhook(crm.url, sales, SECRET + "2", "2026-12-01T00:00:00+00:00")
        seeded = seed(hooked, 300, today=TODAY)
        sender = webhooks.Sender(hooked)
        tally = sender.drain()
        sender.poster.close()
        expected_all, expected_sales = recorded(hooked, all_kinds), recorded(hooked, sales)
        assert tally.delivered == len(expected_all) + len(expected_sales)
        assert {"issued", "viewed", "redeemed", "converted", "voided"} <= {
            e["type"] for e in everything.delivered()
        }
        in_order_once(everything, expected_all)
        in_order_once(crm, expected_sales)
        for receiver, secret in ((everything, SECRET), (crm, SECRET + "2")):
            for request in receiver.received:
                assert check(secret, request.body, request.headers["Certgen-Signature"])
                assert request.headers["Certgen-Event"] == request.event["type"]
        for event in crm.delivered():
            certificate = event["certificate"]
            assert certificate["code"].replace("-", "") in seeded.codes
            assert certificate["giver"]["email"].endswith(("example.com", "example.org"))
            assert certificate["referrer"] == "email:" + certificate["giver"]["email"]
        # Nothing is owed now: later rounds post nothing again.
        assert webhooks.Sender(hooked, clock=lambda: time.time() + 86400).drain().delivered == 0
        assert len(everything.received) == len(expected_all)


@pytest.mark.parametrize("failure", ["500", "timeout", "refused"])
def test_a_failing_receiver_gets_every_event_later(hooked: Ledger, failure: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks/certgen"
    hooked.add_webhook(url, ("issued", "redeemed"), SECRET, "2026-12-01T00:00:00+00:00")
    seed(hooked, 40, today=TODAY)
    clock = Clock()  # from now: the events are due
    expected = recorded(hooked, ("issued", "redeemed"))
    sender = webhooks.Sender(hooked, timeout=0.5, clock=clock)

    def failing(n: int) -> int | float:
        return {"500": 500, "timeout": 2.0}[failure]

    if failure == "refused":  # nothing listens yet
        first = sender.drain()
    else:
        with receiving(port, failing) as down:
            first = sender.drain()
        assert len(down.received) == 1, "a receiver that fails is not hammered in one round"
    assert (first.delivered, first.failed) == (0, 1)
    assert sender.drain().failed == 0, "tried again at once, before its wait"
    (hook,) = hooked.webhooks()
    assert hook.pending == len(expected) and hook.last_error
    assert {"500": "HTTP 500", "timeout": "no answer within", "refused": "refused"}[
        failure
    ] in hook.last_error

    with receiving(port) as up:
        clock.later(webhooks.retry_delay(1))
        second = sender.drain()
        sender.poster.close()
    assert second.delivered == len(expected)
    in_order_once(up, expected)
    assert hooked.webhooks()[0].pending == 0


def test_given_up_after_the_last_attempt_and_retried_by_command(
    hooked: Ledger, ledger_url: str
) -> None:
    with receiving(answer=lambda n: 503) as down:
        hooked.add_webhook(down.url, ("issued",), SECRET, "2026-12-01T00:00:00+00:00")
        seed(hooked, 3, today=TODAY, campaigns=1)
        clock = Clock()
        sender = webhooks.Sender(hooked, clock=clock)
        for _ in range(webhooks.MAX_ATTEMPTS * 3):
            sender.drain()
            clock.later(6 * 3600)
    (hook,) = hooked.webhooks()
    assert (hook.failed, hook.pending, hook.delivered) == (3, 0, 0)
    attempts = [e["id"] for e in (r.event for r in down.received)]
    assert len(attempts) == 3 * webhooks.MAX_ATTEMPTS, "each tried exactly MAX_ATTEMPTS times"
    listing = CliRunner().invoke(cli, ["webhooks", "list", "--ledger", ledger_url])
    assert "3 given up" in listing.output and "HTTP 503" in listing.output
    assert "certgen webhooks retry" in listing.output
    again = CliRunner().invoke(cli, ["webhooks", "retry", "--ledger", ledger_url])
    assert again.exit_code == 0 and "Queued 3 deliveries again" in again.output
    dry = CliRunner().invoke(cli, ["webhooks", "deliver", "--dry-run", "--ledger", ledger_url])
    assert dry.exit_code == 0 and "3 due now; nothing was posted" in dry.output
    with receiving(down.port) as up:
        result = CliRunner().invoke(
            cli, ["webhooks", "deliver", "--ledger", ledger_url], catch_exceptions=False
        )
    assert result.exit_code == 0, result.output
    assert "Delivered 3; 0 failed" in result.output
    assert len(up.delivered()) == 3


def test_two_senders_at_once_deliver_each_event_once_in_order(hooked: Ledger) -> None:
    with receiving() as receiver:
        hooked.add_webhook(receiver.url, webhooks.WEBHOOK_EVENTS, SECRET, "2026-12-01T00:00Z")
        seed(hooked, 200, today=TODAY)
        senders = [webhooks.Sender(hooked, owner=f"test:{n}") for n in range(2)]
        threads = [threading.Thread(target=s.drain) for s in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for s in senders:
            s.drain()  # what one left while the other held a certificate's earlier event
            s.poster.close()
    in_order_once(receiver, recorded(hooked, webhooks.WEBHOOK_EVENTS))


def test_a_killed_sender_is_resumed_by_the_next(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with receiving(answer=lambda n: 30.0 if n == 0 else 200) as receiver:
        added = CliRunner().invoke(
            cli, ["webhooks", "add", receiver.url, "--events", "issued", "--ledger", url]
        )
        assert added.exit_code == 0, added.output
        with open_ledger(url) as opened:
            seed(opened, 5, today=TODAY, campaigns=1)  # 5 issued events owed
        sender = subprocess.Popen(
            [sys.executable, "-m", "certgen", "webhooks", "deliver", "--ledger", url],
            env=os.environ | {"PYTHONPATH": str(REPO)},
        )
        deadline = time.monotonic() + 20
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.received, "the sender never posted"
        sender.send_signal(signal.SIGKILL)  # mid-post: no answer, its claims held
        sender.wait()
        with open_ledger(url) as opened, opened.engine.connect() as conn:
            held = conn.execute(
                sa.select(sa.func.count()).where(webhook_outbox.c.status == "sending")
            ).scalar()
        assert held, "the killed sender held its claims"
        resumed = subprocess.run(
            [sys.executable, "-m", "certgen", "webhooks", "deliver", "--ledger", url],
            env=os.environ | {"PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert resumed.returncode == 0, resumed.stderr
        assert "Delivered 5; 0 failed" in resumed.stdout
        with open_ledger(url) as opened:
            in_order_once(receiver, recorded(opened, ("issued",)))


def test_the_readme_recipe_refuses_what_is_not_signed_now() -> None:
    check = verify_readme()
    body = b'{"id":"evt_1","type":"redeemed"}'
    now = int(time.time())
    header = webhooks.sign(SECRET, body, now)
    assert check(SECRET, body, header)
    assert not check(SECRET, body + b" ", header), "a changed body"
    assert not check("whsec_other_secret_456789", body, header), "another secret"
    assert not check(SECRET, body, webhooks.sign(SECRET, body, now - 301)), "a replay"
    assert not check(SECRET, body, "t=abc,v1=00"), "a malformed header"
    assert not check(SECRET, body, ""), "no header"


def test_the_commands(ledger_url: str) -> None:
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> Any:
        return runner.invoke(cli, ["webhooks", *args, "--ledger", ledger_url], input=stdin)

    bad_url = run("add", "ftp://example.com/x")
    assert bad_url.exit_code == 2 and "http:// or https://" in bad_url.output
    bad_event = run("add", "https://example.com/x", "--events", "redeemed,bought")
    assert bad_event.exit_code == 2 and "bought is not an event" in bad_event.output
    check = verify_readme()
    with receiving() as receiver:
        added = run("add", receiver.url, "--events", "redeemed", "--secret-stdin", stdin=SECRET)
        assert added.exit_code == 0, added.output
        assert "Added webhook 1" in added.output and SECRET not in added.output
        tested = run("test", "1")
        assert tested.exit_code == 0 and "answered 2xx" in tested.output
    (ping,) = receiver.received
    assert ping.event["type"] == "ping"
    assert check(SECRET, ping.body, ping.headers["Certgen-Signature"])
    refused = run("test", "1")  # the receiver is gone now
    assert refused.exit_code == 13 and "connection refused" in refused.output
    assert run("test", "9").exit_code == 6
    listing = run("list")
    assert receiver.url in listing.output and SECRET not in listing.output
    assert SECRET in run("list", "--show-secrets").output
    made = run("add", "https://example.com/hook")
    assert re.search(r"Signing secret \(keep it with the receiver\): whsec_\S{40,}", made.output)
    removed = run("remove", "1")
    assert removed.exit_code == 0 and "Removed webhook 1" in removed.output
    assert run("remove", "1").exit_code == 6
    assert receiver.url not in run("list").output


def test_the_thank_you_sent_is_a_notified_event(hooked: Ledger) -> None:
    ledger = hooked
    with receiving() as receiver:
        ledger.add_webhook(receiver.url, ("notified",), SECRET, "2026-12-01T00:00:00+00:00")
        seeded = seed(ledger, 3, today=TODAY, campaigns=1)
        code = seeded.codes[0]
        assert ledger.queue_notification(code, "jane@example.com")
        assert ledger.claim_notification(code)
        ledger.finish_notification(code, None)
        webhooks.Sender(ledger).drain()
    (event,) = receiver.delivered()
    assert event["type"] == "notified" and event["detail"] == {"to": "jane@example.com"}
    assert [e.kind for e in ledger.events(code)][-1] == "notified"


def test_certgen_serve_delivers_as_events_happen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as opened:
        seeded = seed(opened, 20, today=TODAY, campaigns=1)
    with receiving() as receiver:
        CliRunner().invoke(cli, ["webhooks", "add", receiver.url, "--ledger", url])
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "certgen", "serve", "--port", str(port), "--ledger", url],
            env=os.environ | {"PYTHONPATH": str(REPO)},
            stderr=subprocess.DEVNULL,
        )
        try:
            with open_ledger(url) as opened:
                code = next(c for c in seeded.codes if opened.void(
                    c, at="2026-12-01T10:00:00+00:00", actor="Ann", channel="cli", reason="lost"
                ))  # fmt: skip
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if any(e["type"] == "voided" for e in receiver.delivered()):
                    break
                time.sleep(0.1)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)
    voided = [e for e in receiver.delivered() if e["type"] == "voided"]
    assert voided and voided[0]["detail"] == {"reason": "lost"}
    assert voided[0]["certificate"]["code"].replace("-", "") == code
