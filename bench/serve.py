"""Web benchmark: requests per second for the public page and for API redemptions.

    python bench/serve.py [--seconds 5] [--clients 1,8] [--codes 3000]

Starts a real `certgen serve` (waitress, 8 threads) on a fresh SQLite ledger in a temporary
app folder, then drives it from this process with keep-alive HTTP connections, one thread
per client: GET /r/<code> for issued codes (the page a scanned QR code opens), and
POST /api/certificates/<code>/redeem with a staff token, each code redeemed once.
Client and server share this machine's cores.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from certgen import codes
from certgen.ledger import BatchRecord, CertificateRecord, open_ledger

AT = "2026-11-23T12:00:00+00:00"


def prepare(home: Path, count: int) -> tuple[list[str], str]:
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
    exe = shutil.which("certgen") or "certgen"
    env = {**os.environ, "CERTGEN_HOME": str(home)}
    subprocess.run(
        [exe, "staff", "add", "bench", "--password-stdin"],
        input="bench-pin\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token = subprocess.run(
        [exe, "staff", "token", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    return made, token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CERTGEN_HOME": str(home)}
    process = subprocess.Popen(
        [shutil.which("certgen") or "certgen", "serve", "--port", str(port)],
        env=env,
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
        conn.request("GET", f"/r/{made[int(time.monotonic_ns()) % len(made)]}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--codes", type=int, default=6000, help="enough for every redemption")
    args = parser.parse_args()
    print(f"certgen serve (waitress, 8 threads), SQLite ledger; {args.seconds:g} s per figure")
    print(f"{'request':>22} {'clients':>8} {'req/s':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        made, token = prepare(home, args.codes)
        port = free_port()
        server = start(home, port)
        try:
            redeemable = iter(made)
            for clients in (int(n) for n in args.clients.split(",")):
                rate = load(port, clients, args.seconds, page_requests(made))
                print(f"{'GET /r/<code>':>22} {clients:>8} {rate:>7.0f}")
            for clients in (int(n) for n in args.clients.split(",")):
                share = (
                    [next(redeemable) for _ in range(args.codes // 2)]
                    if clients == 1
                    else list(redeemable)
                )
                rate = load(port, clients, args.seconds, redeem_requests(share, token))
                print(f"{'POST .../redeem (API)':>22} {clients:>8} {rate:>7.0f}")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
