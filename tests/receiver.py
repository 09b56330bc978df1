"""A real HTTP receiver on loopback for the webhook tests: it records every request and
answers as the test says (2xx, an error status, no answer in time)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int | None  # what was answered; None: the request was held past the timeout

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    port: int
    # How to answer the n-th request (from 0): a status, or a number of seconds to hold it.
    answer: Callable[[int], int | float] = lambda n: 200
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/certgen"

    def delivered(self) -> list[dict[str, Any]]:
        """The events answered 2xx, in the order they came."""
        with self.lock:
            return [r.event for r in self.received if r.status and 200 <= r.status < 300]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def receiving(
    port: int | None = None, answer: Callable[[int], int | float] | None = None
) -> Iterator[Receiver]:
    receiver = Receiver(port or free_port())
    if answer is not None:
        receiver.answer = answer

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver does
        wbufsize = -1  # the answer in one write: no Nagle stall against a delayed ACK

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                n = len(receiver.received)
                how = receiver.answer(n)
                status = how if isinstance(how, int) else None
                receiver.received.append(Received(dict(self.headers), body, status))
            if status is None:
                time.sleep(float(how))  # the sender gives up first
                self.close_connection = True
                return
            reply = b"ok" if status < 300 else b"receiver failed"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
