"""Web benchmark: requests per second for the public page and for API redemptions.

    python bench/serve.py [--seconds 5] [--clients 1,8] [--codes 6000]
    python bench/serve.py --baseline e18659f [--repeat 3]   # beside an earlier commit

Starts a real `certgen serve` (waitress, 8 threads) on a fresh SQLite ledger in a temporary
app folder, then drives it from this process with keep-alive HTTP connections, one thread
per client: GET /r/<code> for issued codes as a phone's browser asks for them (so each first
look is recorded as a view, as in real use), and POST /api/certificates/<code>/redeem with a
staff token, each code redeemed once. With ``--baseline`` the commit is checked out into a
temporary worktree and both are measured alternately, each tree with its own code and a
ledger of its own schema, best of ``--repeat``. Client and server share this machine's cores.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import worktree

from certgen import codes
from certgen.ledger import BatchRecord, CertificateRecord, open_ledger

AT = "2026-11-23T12:00:00+00:00"
PHONE = {  # a person's browser: the page counts the look (a bot's or a library's would not)
    "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "Version/18.0 Mobile/15E148 Safari/604.1",
    "Accept": "text/html",
}


def prepare(home: Path, count: int) -> tuple[list[str], str]:
    """``count`` certificates and a staff token, with the certgen on this process's path."""
    made = [codes.generate() for _ in range(count)]
    with open_ledger(f"sqlite:///{home / 'ledger.db'}") as ledger:
        records = [
            CertificateRecord(
                code,
                "bench",
                "o.pdf",
                i + 1,
                i + 2,
                "modern",
                "h",
                "Friend",
                "Jane",
                {"offer": "A free check", "business": "Northside"},
                AT,
                "2099-01-01",
            )
            for i, code in enumerate(made)
        ]
        ledger.issue_batch(
            BatchRecord("bench", "modern", "h", "b.csv", "o.pdf", count, AT), records
        )
    exe = [sys.executable, "-m", "certgen"]  # the tree on this process's path
    env = {**os.environ, "CERTGEN_HOME": str(home)}
    subprocess.run(
        [*exe, "staff", "add", "bench", "--password-stdin"],
        input="bench-pin\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token = subprocess.run(
        [*exe, "staff", "token", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    return made, token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(tree: Path, home: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "certgen", "serve", "--port", str(port)],
        env=worktree.environment(tree, home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def load(
    port: int, clients: int, seconds: float, request: Callable[[http.client.HTTPConnection], int]
) -> float:
    """Requests per second over ``seconds`` from ``clients`` threads; every answer must be 2xx."""
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            status = request(conn)
            assert 200 <= status < 300, status
            done[index] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - began)


def page_requests(made: list[str]) -> Callable[[http.client.HTTPConnection], int]:
    def get(conn: http.client.HTTPConnection) -> int:
        code = made[int(time.monotonic_ns()) % len(made)]
        conn.request("GET", f"/r/{code}", headers=PHONE)
        response = conn.getresponse()
        response.read()
        return response.status

    return get


def redeem_requests(made: list[str], token: str) -> Callable[[http.client.HTTPConnection], int]:
    pool: Iterator[str] = iter(made)
    lock = threading.Lock()

    def post(conn: http.client.HTTPConnection) -> int:
        with lock:
            code = next(pool)
        conn.request(
            "POST", f"/api/certificates/{code}/redeem", headers={"Authorization": f"Bearer {token}"}
        )
        response = conn.getresponse()
        response.read()
        return response.status

    return post


def figures(tree: Path, seconds: float, clients: list[int], count: int) -> dict[str, float]:
    """Each figure of ``tree``'s certgen: {"GET /r/<code> 8": rate, ...}."""
    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        prepared = subprocess.run(  # the tree's own code makes its ledger and token
            [sys.executable, __file__, "--prepare", str(home), "--codes", str(count)],
            env=worktree.environment(tree, home),
            check=True,
            capture_output=True,
            text=True,
        )
        token, *made = prepared.stdout.split()
        port = free_port()
        server = start(tree, home, port)
        try:
            redeemable = iter(made)
            for n in clients:
                found[f"GET /r/<code> {n}"] = load(port, n, seconds, page_requests(made))
            for n in clients:
                share = (
                    [next(redeemable) for _ in range(count // 2)] if n == 1 else list(redeemable)
                )
                rate = load(port, n, seconds, redeem_requests(share, token))
                found[f"POST .../redeem (API) {n}"] = rate
        finally:
            server.terminate()
            server.wait()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--codes", type=int, default=6000, help="enough for every redemption")
    parser.add_argument("--baseline", help="a commit to measure beside this checkout")
    parser.add_argument("--repeat", type=int, default=3, help="rounds with --baseline")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        made, token = prepare(args.prepare, args.codes)
        print(token, *made, sep="\n")
        return
    clients = [int(n) for n in args.clients.split(",")]
    print(f"certgen serve (waitress, 8 threads), SQLite ledger; {args.seconds:g} s per figure")
    if not args.baseline:
        print(f"{'request':>22} {'clients':>8} {'req/s':>7}")
        for key, rate in figures(worktree.ROOT, args.seconds, clients, args.codes).items():
            request, n = key.rsplit(" ", 1)
            print(f"{request:>22} {n:>8} {rate:>7.0f}")
        return
    with tempfile.TemporaryDirectory() as scratch:
        with worktree.checkout(args.baseline, Path(scratch) / "baseline") as baseline:
            trees = {"baseline": baseline, "now": worktree.ROOT}
            best: dict[str, dict[str, float]] = {name: {} for name in trees}
            for _ in range(args.repeat):  # alternated, so drift in the machine hits both
                for name, tree in trees.items():
                    for key, rate in figures(tree, args.seconds, clients, args.codes).items():
                        best[name][key] = max(best[name].get(key, 0.0), rate)
    print(f"baseline {args.baseline} against this checkout, best of {args.repeat}, alternated")
    print(f"{'request, clients':>26} {'baseline':>9} {'now':>9} {'change':>7}")
    for key, before in best["baseline"].items():
        now = best["now"][key]
        print(f"{key:>26} {before:>9.0f} {now:>9.0f} {100 * (now - before) / before:>+6.1f}%")


if __name__ == "__main__":
    main()
