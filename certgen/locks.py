"""A lock on a file a run writes: two runs never write one file at once.

The lock is ``flock`` on a small file beside the output, held while the run writes; the
kernel drops it when the process ends, however it ends, so a killed run leaves no lock
behind. The lock file names its holder, for the message the second run gets.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from certgen.errors import BusyError, OutputError


@contextlib.contextmanager
def holding(target: Path, holder: str) -> Iterator[None]:
    """Hold ``target``'s lock while the block runs, or raise BusyError naming its holder."""
    lock = target.with_name(f".{target.name}.lock")
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise OutputError(
                f"cannot write {target}: the folder {target.parent} does not exist"
            ) from None
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held_by = os.pread(fd, 500, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise BusyError(
                f"{target} is being written by {held_by or 'another certgen run'}: wait for "
                "it to finish, or give another -o"
            ) from None
        try:  # the holder before unlinks the file as it lets go: lock the file that is there
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


def process_alive(host: str, pid: int) -> bool:
    """Whether process ``pid`` on ``host`` still runs; for another machine, it cannot be
    told here, so it is taken as alive (a heartbeat decides)."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
