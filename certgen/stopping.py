"""Ctrl-C as a request to stop, honoured where stopping is safe.

A KeyboardInterrupt raised wherever the signal lands can break a library in the middle of
its own work (reportlab turns one inside its writer into a KeyError about a PDF object),
so while a run is under way SIGINT only sets a flag, and the run calls ``check`` at the
points where nothing is half-done: between certificates, chunks, files and emails. There
``check`` raises KeyboardInterrupt, and the run's usual clean-up and message follow.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_requested = False


def _request(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = True


@contextmanager
def at_safe_points() -> Iterator[None]:
    """While the block runs, Ctrl-C asks the run to stop at its next ``check``."""
    global _requested
    _requested = False
    previous = signal.signal(signal.SIGINT, _request)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _requested = False


def check() -> None:
    """A safe point: stop here if Ctrl-C was pressed."""
    if _requested:
        raise KeyboardInterrupt
