"""What a run was made from, so that the same list issued or sent again by accident is
recognised and refused, instead of getting a second set of codes.

A run's fingerprint is a digest of the design (its name and hash), the kind of run and
every row's values as they are recorded, in the list's order (that is what a reprint of
the run reads again; ``--sort-by`` sorts after it). A run given by id (``--run-id``,
``--resume``) is the user's say and is not checked; ``--new-run`` asks for a fresh set on
purpose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from certgen.design import Design
from certgen.inputs import Row
from certgen.ledger import BatchRecord, Ledger


def fingerprint(design: Design, rows: Sequence[Row], kind: str) -> str:
    """The digest of a run of ``kind`` ("issue", "send") of ``rows`` with ``design``."""
    total = hashlib.sha256(f"{kind}\0{design.name}\0{design.hash}\0{len(rows)}\0".encode())
    for row in rows:
        values = {name: str(value) for name, value in row.values.items()}
        total.update(json.dumps(values, ensure_ascii=False, sort_keys=True).encode() + b"\0")
    return total.hexdigest()


def earlier(ledger: Ledger, print_: str) -> tuple[BatchRecord, int] | None:
    """The newest run made from the same list (and how many of its certificates are
    recorded), if there is one."""
    found = ledger.runs(print_)
    return found[0] if found else None
