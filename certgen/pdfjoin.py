"""Join PDFs that certgen drew into one, streaming: a long run is drawn in bounded parts (in
parallel, with bounded memory) and its file is their concatenation.

Each part's objects are copied with their numbers shifted; each part's page tree hangs under
one root, so no page object changes but for its numbers. Only the dictionaries are rewritten,
never stream data. Font subsets are renamed per part (``AAAAAA+`` is reportlab's fixed tag),
so no two different subsets in the file share a name. Parts must be classic-xref PDFs as
reportlab writes them.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

_REF = re.compile(rb"(\d+) 0 R\b")
_STREAM = b"\nstream\n"
_SUBSET_TAG = b"/AAAAAA+"
_VERSION = re.compile(rb"%PDF-1\.[0-7]")
# Catalog entries a part may carry besides its pages: PDF/X's output intent and metadata.
_CATALOG_EXTRAS = re.compile(rb"/OutputIntents \[[^\]]*\]\s*|/Metadata \d+ 0 R\s*")


class JoinError(ValueError):
    """A part that is not a PDF of the kind this module joins."""


def join(parts: Sequence[Path], out: BinaryIO) -> list[int]:
    """Write the parts' pages, in order, as one PDF to ``out``; returns each part's number of
    pages. Objects 1 and 2 are the new catalog and page tree root."""
    header = parts[0].open("rb").read(8) if parts else b"%PDF-1.4"
    if not _VERSION.fullmatch(header):
        raise JoinError(f"{parts[0]} is not a PDF")
    out.write(header + b"\n%\x93\x8c\x8b\x9e certgen\n")  # the parts' version (PDF/X-4: 1.6)
    offsets = array("q", [0, 0, 0])  # by object number; 1 and 2 are written last
    position = out.tell()
    kids, counts, ids = [], [], []
    info: bytes | None = None
    extras = b""  # the first part's output intent and metadata (PDF/X), for the file's root
    for index, part in enumerate(parts):
        data = part.read_bytes()
        objects, trailer = _objects(data, part)
        root = _number(trailer, rb"/Root (\d+) 0 R", part)
        root_body = _body(data, objects[root])
        pages = _number(root_body, rb"/Pages (\d+) 0 R", part)
        info_number = _number(trailer, rb"/Info (\d+) 0 R", part)
        shared = _shared(data, objects, root_body)
        dropped = {root, info_number, *(shared if index else ())}  # the first part's serve all
        kept = [n for n in sorted(objects) if n not in dropped]
        new = {old: len(offsets) + i for i, old in enumerate(kept)}
        renumber = _renumbering(new)
        tag = b"/" + _tag(index) + b"+"
        for old in kept:
            body = _body(data, objects[old])
            head, sep, stream = body.partition(_STREAM)
            head = _REF.sub(renumber, head).replace(_SUBSET_TAG, tag)
            if old == pages:
                head = head.replace(b"<<", b"<<\n/Parent 2 0 R", 1)
                counts.append(_number(head, rb"/Count (\d+)", part))
                kids.append(new[old])
            offsets.append(position)
            chunk = b"%d 0 obj\n" % new[old] + head + sep + stream + b"endobj\n"
            out.write(chunk)
            position += len(chunk)
        if info is None:
            info = _body(data, objects[info_number])
            extras = b"".join(
                _REF.sub(renumber, m.group(0)) for m in _CATALOG_EXTRAS.finditer(root_body)
            )
        ids.append(_file_id(trailer))
    info_number = len(offsets)
    offsets.append(0)
    kid_refs = b" ".join(b"%d 0 R" % k for k in kids)
    for number, body in (
        (1, b"<<\n%s/PageMode /UseNone /Pages 2 0 R /Type /Catalog\n>>\n" % extras),
        (2, b"<<\n/Count %d /Kids [ %s ] /Type /Pages\n>>\n" % (sum(counts), kid_refs)),
        (info_number, info or b"<<\n>>\n"),
    ):
        offsets[number] = position
        chunk = b"%d 0 obj\n" % number + body + b"endobj\n"
        out.write(chunk)
        position += len(chunk)
    digest = hashlib.md5(b"".join(ids), usedforsecurity=False).hexdigest().encode()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % len(offsets))
    for start in range(1, len(offsets), 4096):  # a long file's table, a slice at a time
        out.write(
            b"".join(b"%010d 00000 n \n" % offset for offset in offsets[start : start + 4096])
        )
    trailer = b"<<\n/ID [<%s><%s>]\n/Info %d 0 R\n/Root 1 0 R\n/Size %d\n>>" % (
        digest,
        digest,
        info_number,
        len(offsets),
    )
    out.write(b"trailer\n%s\nstartxref\n%d\n%%%%EOF\n" % (trailer, position))
    return counts


def _shared(data: bytes, objects: dict[int, tuple[int, int]], root: bytes) -> set[int]:
    """The objects the root's output intent and metadata are made of: every part has its
    own copy, and the joined file keeps the first part's only."""
    found: set[int] = set()
    todo = [int(n) for m in _CATALOG_EXTRAS.finditer(root) for n in _REF.findall(m.group(0))]
    while todo:
        number = todo.pop()
        if number in found or number not in objects:
            continue
        found.add(number)
        head = _body(data, objects[number]).partition(_STREAM)[0]
        todo += [int(n) for n in _REF.findall(head)]
    return found


def _renumbering(new: dict[int, int]) -> Callable[[re.Match[bytes]], bytes]:
    """``N 0 R`` to the reference's new number."""
    return lambda match: b"%d 0 R" % new[int(match.group(1))]


def _objects(data: bytes, part: Path) -> tuple[dict[int, tuple[int, int]], bytes]:
    """Each object's (start, end) byte range, from its header to its end, and the trailer."""
    start = data.rfind(b"startxref")
    if start < 0:
        raise JoinError(f"{part}: not a PDF (no startxref)")
    xref = int(data[start + 9 :].split()[0])
    if data[xref : xref + 4] != b"xref":
        raise JoinError(f"{part}: no classic cross-reference table")
    lines = data[xref:start].split(b"\n")
    first, count = (int(v) for v in lines[1].split())
    entries = [line.split() for line in lines[2 : 2 + count]]
    found = {first + i: int(entry[0]) for i, entry in enumerate(entries) if entry[2:3] == [b"n"]}
    ends = sorted(found.values()) + [xref]
    following = dict(zip(ends, ends[1:], strict=False))
    trailer = data[data.index(b"trailer", xref) : start]
    return {n: (offset, following[offset]) for n, offset in found.items()}, trailer


def _body(data: bytes, span: tuple[int, int]) -> bytes:
    """An object's text between ``N 0 obj`` and ``endobj``."""
    start, end = span
    header_end = data.index(b"obj\n", start) + 4
    return data[header_end : data.rindex(b"endobj", header_end, end)]


def _file_id(trailer: bytes) -> bytes:
    match = re.search(rb"/ID\s*\[\s*<([0-9a-fA-F]+)>", trailer)
    return match.group(1) if match else b""


def _number(text: bytes, pattern: bytes, part: Path) -> int:
    match = re.search(pattern, text)
    if match is None:
        raise JoinError(f"{part}: {pattern.decode()} not found")
    return int(match.group(1))


def _tag(index: int) -> bytes:
    """Six capital letters, different for each part: a subset's name prefix."""
    letters = []
    for _ in range(6):
        index, digit = divmod(index, 26)
        letters.append(65 + digit)
    return bytes(reversed(letters))
