"""Reading the TOML files people write (designs, sheets, profiles, certgen.toml), bounded.

tomllib recurses once per nested table or array, so a file nested a thousand deep ends in a
RecursionError, and a large file is read whole: both are refused here with what is wrong.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

MAX_BYTES = 1024 * 1024  # a manifest of thousands of elements is a few hundred KiB
MAX_DEPTH = 16  # certgen's deepest is 4 ([email.pass_on], [[elements]] with dash = [...])


class Unreadable(ValueError):
    """The file cannot be used as TOML; the message says why, without the path."""


def read(path: Path) -> dict[str, Any]:
    """The file's tables; FileNotFoundError passes through for callers that allow none."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise Unreadable(f"larger than {MAX_BYTES // 1024} KiB, too large for a settings file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise Unreadable(f"cannot be read: {exc.strerror or exc}") from None
    return loads(text)


def loads(text: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Unreadable(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise Unreadable(f"tables or arrays nested more than {MAX_DEPTH} deep") from None
    if _depth(data) > MAX_DEPTH:
        raise Unreadable(f"tables or arrays nested more than {MAX_DEPTH} deep")
    return data


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0
