"""Which openings of a certificate's page count as somebody looking at it (not a link
preview: a chat app or mail client fetching the page to show a card; a crawler, a
prefetch or a script), and their recording off the request. Nothing about the viewer is
kept; the headers are only read."""

from __future__ import annotations

import atexit
import re
import threading
import time
from collections.abc import Callable
from typing import Protocol

# The user agents of link previews, crawlers and HTTP libraries, by the words they carry.
NOT_A_PERSON = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|facebookexternalhit|facebookcatalog|embedly|"
    r"whatsapp|telegram|skypeuri|discord|slack|linkedin|pinterest|vkshare|quora link|"
    r"outbrain|bitlybot|iframely|curl/|wget/|python-|httpx|okhttp|go-http|java/|"
    r"libwww|axios|node-fetch|postman|insomnia|googleimageproxy|yahoomailproxy",
    re.IGNORECASE,
)
PREFETCH_HEADERS = ("Purpose", "Sec-Purpose", "X-Purpose", "X-Moz")


class Headers(Protocol):
    def get(self, key: str, default: str) -> str: ...


def counts(method: str, headers: Headers) -> bool:
    """Whether this request is a person opening the page."""
    if method != "GET":
        return False
    if any("prefetch" in headers.get(name, "").lower() for name in PREFETCH_HEADERS):
        return False
    agent = headers.get("User-Agent", "")
    return bool(agent) and NOT_A_PERSON.search(agent) is None


class Recorder:
    """Views written off the request, in batches: a page answers without waiting for the
    ledger's write lock, and a busy page costs one transaction a second, not one a view.

    A look at a code this process counted in the last ``repeat`` seconds is dropped here
    (the ledger checks again, for other processes sharing it). A batch the ledger refuses
    (busy, unreachable) is kept and tried again; views still queued when the process is
    killed outright (up to ``every`` seconds of them) are lost: they are counts, not codes.
    """

    MEMORY = 100_000  # codes remembered for ``repeat``; older ones are forgotten first

    def __init__(
        self,
        write: Callable[[list[tuple[str, str]]], object],
        *,
        every: float = 1.0,
        repeat: float = 60.0,
    ):
        self.write, self.every, self.repeat = write, every, repeat
        self.pending: list[tuple[str, str]] = []
        self.seen: dict[str, float] = {}  # code -> when this process last counted it
        self.lock = threading.Lock()
        self.writing = threading.Lock()  # one batch at a time, in order
        self.worker: threading.Thread | None = None
        atexit.register(self.flush)

    def saw(self, code: str, at: str) -> None:
        now = time.monotonic()
        with self.lock:
            last = self.seen.pop(code, None)
            if last is not None and now - last < self.repeat:
                self.seen[code] = last
                return
            self.seen[code] = now  # re-inserted: the dict stays in order of last count
            while len(self.seen) > self.MEMORY:
                del self.seen[next(iter(self.seen))]
            self.pending.append((code, at))
            if self.worker is None:
                self.worker = threading.Thread(target=self._run, name="views", daemon=True)
                self.worker.start()

    def flush(self) -> None:
        """Write what is queued now (tests, and the process's exit)."""
        with self.writing:
            with self.lock:
                batch, self.pending = self.pending, []
            if not batch:
                return
            try:
                self.write(batch)
            except Exception:
                with self.lock:  # kept, in order, for the next try
                    self.pending[:0] = batch
                raise

    def _run(self) -> None:
        while True:
            time.sleep(self.every)
            try:
                self.flush()
            except Exception:  # noqa: S112 - a busy ledger: the batch waits for the next round
                continue
