"""Work done in forked processes, its results read in order.

A worker is forked with the task's object in memory rather than sent it (a design holds
compiled templates, which do not pickle), so the object is set in a module global while a
pool runs. Workers ignore Ctrl-C (the run stops at a safe point and says how to go on)
and die with the run, so a killed run leaves no worker blocked on a pipe for good.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any

PR_SET_PDEATHSIG = 1  # Linux prctl: the signal a process gets when its parent dies

_TARGET: object | None = None  # set while a pool runs; what a forked worker works on
_PARENT = 0  # the run's process, which forked the workers


@contextlib.contextmanager
def in_order(
    target: object,
    method: str,
    tasks: Sequence[tuple[Any, ...]],
    jobs: int,
    *,
    ahead: int | None = None,
    **inline: Any,
) -> Iterator[Iterator[Any]]:
    """``target.method(*task)`` for each task, in order: with ``jobs`` > 1 in that many
    forked processes, else one by one in this process as the results are asked for (with
    the ``inline`` keyword arguments). ``ahead`` bounds the tasks handed out beyond the
    one being read (their results wait in memory); without it all go at once."""
    global _TARGET
    if jobs <= 1 or len(tasks) <= 1:
        yield (getattr(target, method)(*task, **inline) for task in tasks)
        return
    _TARGET = target
    _set_parent(os.getpid())
    try:
        import multiprocessing  # only a run in parallel pays for these imports
        from concurrent.futures import Future, ProcessPoolExecutor

        fork = multiprocessing.get_context("fork")
        waiting: collections.deque[Future[Any]] = collections.deque()
        left = iter(tasks)
        limit = len(tasks) if ahead is None else max(1, ahead)
        with ProcessPoolExecutor(jobs, mp_context=fork, initializer=_ignore_interrupts) as pool:

            def hand_out() -> None:
                while len(waiting) < limit:
                    task = next(left, None)
                    if task is None:
                        return
                    waiting.append(pool.submit(_run, method, *task))

            def results() -> Iterator[Any]:
                hand_out()
                while waiting:
                    result = waiting.popleft().result()
                    hand_out()
                    yield result

            try:
                yield results()
            finally:
                for future in waiting:
                    future.cancel()
    finally:
        _TARGET = None


def _run(method: str, *args: Any) -> Any:
    if _TARGET is None:
        raise RuntimeError("worker started without its work")
    return getattr(_TARGET, method)(*args)


def _set_parent(pid: int) -> None:
    global _PARENT
    _PARENT = pid


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != _PARENT:  # the run died before the line above: follow it now
            os._exit(1)
