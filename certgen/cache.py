"""Work a command would redo every run, kept on disk in the app folder (``$CERTGEN_HOME/cache``).

An entry is named by a digest of everything its value depends on: the caller's key (the
bytes of the file it was made from, for one) and the versions of certgen, Python and the
libraries that made it. So a changed file or an upgrade finds no entry and builds a new
one; nothing is ever looked up by file name or date. An entry is written to a temporary
file and renamed into place, so processes filling the cache at once each write a whole
entry and the last rename wins (they agree: the same key makes the same value). Each entry
carries a digest of its value and a damaged or truncated one is ignored and rebuilt. A
cache that cannot be written (a read-only folder, a full disk) is skipped, never an error.

``CERTGEN_CACHE=off`` turns it off; the output is the same byte for byte either way.
The entries are the app folder's own, trusted as its ledger and secrets are.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from certgen import __version__, config

_MAGIC = b"certgen-cache-1\n"
_DIGEST = 32


def enabled() -> bool:
    return os.environ.get("CERTGEN_CACHE", "").lower() not in {"off", "0", "no", "false"}


def folder() -> Path:
    return config.home() / "cache"


def key(*parts: bytes | str) -> str:
    """A digest of ``parts`` and the versions every entry depends on."""
    digest = hashlib.blake2b(digest_size=_DIGEST)
    for part in (__version__, sys.version, *parts):
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def file_digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_DIGEST).digest()


def fetch(kind: str, parts: Iterable[bytes | str], build: Callable[[], bytes]) -> bytes:
    """The cached value for ``parts``, or ``build()``'s, kept for the next run."""
    if not enabled():
        return build()
    path = folder() / kind / key(kind, *parts)
    found = _read(path)
    if found is not None:
        return found
    value = build()
    _write(path, value)
    return value


def _read(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + _DIGEST
    value = data[head:]
    if data[: len(_MAGIC)] != _MAGIC or data[len(_MAGIC) : head] != file_digest(value):
        return None  # damaged: built again and replaced
    return value


def _write(path: Path, value: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(_MAGIC + file_digest(value) + value)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a cache that cannot be written only costs the next run the same work
