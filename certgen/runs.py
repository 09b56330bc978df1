"""A run of a list, for ``issue`` and ``send`` alike: its id and time, a code for every row,
its batch record, the recording of its certificates, and what it was made from.

``Run.start`` gives the rows of a run already recorded (a reprint, a resumed or a
rerun send) their codes back, after checking that the id names the same design and rows,
and draws fresh codes, never recorded before, for the rest. ``Run.record`` records a part
of the run (its certificates and ``issued`` events, and for a send its pending deliveries)
in one transaction; the first part records the batch. Nothing is recorded before every
problem is known (``Run.stop_on``); a dry run stops there; a limit records the first part.

What a run was made from is recorded too, so that the same list issued or sent again by
accident is recognised and refused, instead of getting a second set of codes.

A run's fingerprint is a digest of the design (its name and hash), the kind of run and
every row's values as they are recorded, in the list's order (that is what a reprint of
the run reads again; ``--sort-by`` sorts after it). A run given by id (``--run-id``,
``--resume``) is the user's say and is not checked; ``--new-run`` asks for a fresh set on
purpose.

A run also records the options its output depends on besides its rows (``settings``: the
base URL its QR codes point to, the sheet or mailer, the rows' order, the files), and a run
given by id must match both: ``--resume`` or a reprint with a changed row anywhere in the
list, or another option, is refused naming the difference, so one run never points to two
sites or mixes two layouts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from certgen import codes
from certgen.design import Design
from certgen.errors import InputError, Problem, RunMismatchError
from certgen.inputs import Row
from certgen.ledger import BatchRecord, CertificateRecord, Ledger

Randbelow = Callable[[int], int]
BLOCK = 1000  # fresh codes drawn and checked against the ledger at a time
BEAT = 60.0  # seconds between a running run's heartbeats


def fingerprint(design: Design, rows: Sequence[Row], kind: str) -> str:
    """The digest of a run of ``kind`` ("issue", "send") of ``rows`` with ``design``."""
    total = hashlib.sha256(f"{kind}\0{design.name}\0{design.hash}\0{len(rows)}\0".encode())
    for row in rows:
        values = {name: str(value) for name, value in row.values.items()}
        total.update(json.dumps(values, ensure_ascii=False, sort_keys=True).encode() + b"\0")
    return total.hexdigest()


# How each setting is given on the command line, for messages.
OPTION_NAMES = {
    "base_url": "--base-url",
    "sheet": "--sheet, --gutter, --crop-marks or --bleed",
    "mailer": "--mailing, --envelope or --address-to (or the business's address)",
    "duplex": "--duplex",
    "split": "--split",
    "address_to": "--address-to",
}


def settings_json(settings: Mapping[str, object]) -> str:
    """``settings`` as they are recorded: JSON with sorted keys, values as JSON has them."""
    return json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str)


def order_digest(rows: Sequence[Row]) -> str:
    """The rows' order (their numbers in the list), as a short digest."""
    numbers = ",".join(str(row.number) for row in rows)
    return hashlib.sha256(numbers.encode()).hexdigest()[:16]


def earlier(ledger: Ledger, print_: str) -> tuple[BatchRecord, int] | None:
    """The newest run made from the same list (and how many of its certificates are
    recorded), if there is one."""
    found = ledger.runs(print_)
    return found[0] if found else None


def new_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%d}-{secrets.token_hex(4)}"


@dataclass
class Run:
    """One run of ``rows`` with ``design``: ``codes[i]`` is row i's code, ``recorded`` the
    rows recorded before (the first ``len(recorded)``, in the rows' order)."""

    design: Design
    rows: Sequence[Row]
    ledger: Ledger
    batch: BatchRecord
    known: bool  # the batch was recorded before this run
    recorded: list[CertificateRecord]
    codes: codes.Packed
    now: dt.datetime
    actor: str

    @classmethod
    def start(
        cls,
        design: Design,
        rows: Sequence[Row],
        *,
        ledger: Ledger,
        source: str,
        target: str,
        now: dt.datetime | None = None,
        run_id: str | None = None,
        fingerprint: str | None = None,
        settings: Mapping[str, object] | None = None,
        actor: str = "certgen",
        randbelow: Randbelow = secrets.randbelow,
    ) -> Run:
        """The run ``run_id`` (a new id if None) of ``rows`` read from ``source``, whose
        certificates go to ``target`` (a file, or where its emails went), made with
        ``settings`` (``OPTION_NAMES``)."""
        now = now or dt.datetime.now(dt.UTC)
        run_id = run_id or new_id(now)
        known = ledger.get_batch(run_id)
        recorded = _in_run_order(rows, ledger.batch(run_id)) if known else []
        recorded_settings = settings_json(settings or {})
        if known:  # options before rows: another order makes the rows look changed
            _check_same_design(design, rows, known, run_id)
            _check_same_settings(known, recorded_settings, run_id)
            _check_same_rows(rows, recorded, run_id)
            _check_same_list(known, fingerprint, run_id)
        row_codes = codes.Packed(r.code for r in recorded)
        row_codes.extend(_fresh_codes(len(rows) - len(recorded), ledger, randbelow))
        issued_at = now.astimezone(dt.UTC).isoformat(timespec="seconds")
        batch = known or BatchRecord(
            run_id,
            design.name,
            design.hash,
            source,
            target,
            len(rows),
            issued_at,
            fingerprint,
            recorded_settings,
        )  # a run's certificates carry the time it started: a resumed run's, the first's
        return cls(design, rows, ledger, batch, bool(known), recorded, row_codes, now, actor)

    @property
    def id(self) -> str:
        return self.batch.id

    @property
    def issued_on(self) -> dt.date:
        return self.now.date()

    @property
    def issued_at(self) -> str:
        return self.now.astimezone(dt.UTC).isoformat(timespec="seconds")

    @property
    def file(self) -> str | None:
        """The list the rows came from, for messages; None for the command line's values."""
        return None if self.batch.source == "command line" else self.batch.source

    @property
    def fresh(self) -> int:
        """Rows without a recorded certificate: what this run issues."""
        return len(self.rows) - len(self.recorded)

    def part(self, limit: int | None) -> range:
        """The rows to do now: the first ``limit`` (a test print, a first send), or all."""
        return range(len(self.rows) if limit is None else min(limit, len(self.rows)))

    def stop_on(self, problems: Sequence[Problem]) -> None:
        """Every problem, from the input and from laying the run out, before anything is
        recorded: any one stops the run."""
        if problems:
            raise InputError(list(problems))

    def record(
        self,
        part: range,
        placed: Iterable[tuple[Path | str, int]],
        emails: Mapping[str, str] | None = None,
        pieces: Sequence[str | None] | None = None,
    ) -> None:
        """Record ``part`` of the rows, none recorded before, each where ``placed`` says
        (file and page), in one transaction with their events; with ``emails`` (code ->
        address), a pending delivery each; with ``pieces``, each one's IMb digits. The
        first part recorded records the batch."""
        if not part:
            return
        records = certificate_records(
            self.design,
            (self.rows[i] for i in part),
            (self.codes[i] for i in part),
            placed,
            self.batch,
            self.issued_at,
            pieces,
        )
        self.beat()
        first = not self.known
        ledger = self.ledger
        ledger.issue_batch(self.batch, records, actor=self.actor, new_batch=first, emails=emails)
        self.known = True

    def beat(self) -> None:
        """Tell the ledger this run's process still works on it (its lease stays held)."""
        now = time.time()
        if now - self._beaten > BEAT:
            self.ledger.renew_lease(self.id, os.getpid(), now)
            self._beaten = now

    _beaten: float = 0.0


def certificate_records(
    design: Design,
    rows: Iterable[Row],
    row_codes: Iterable[str],
    placed: Iterable[tuple[Path | str, int]],
    batch: BatchRecord,
    issued_at: str,
    pieces: Iterable[str | None] | None = None,
) -> Iterator[CertificateRecord]:
    every = zip(rows, row_codes, placed, pieces or itertools.repeat(None), strict=False)
    for row, code, (file, page), piece in every:
        expires = row.values.get("expires")
        yield CertificateRecord(
            code=code,
            batch_id=batch.id,
            file=str(file),
            page=page,
            source_row=row.number,
            design=design.name,
            design_hash=design.hash,
            recipient=row.text("recipient"),
            giver=row.text("giver"),
            data={name: str(value) for name, value in row.values.items()},
            issued_at=issued_at,
            expires_on=expires.isoformat() if isinstance(expires, dt.date) else None,
            mail_piece=piece,
        )


def _fresh_codes(count: int, ledger: Ledger, randbelow: Randbelow) -> codes.Packed:
    """``count`` codes never recorded before, drawn BLOCK at a time, each block's distinct
    and checked against the ledger (80 random bits: a repeat is practically never, but every
    printed code must be unique). A repeat across blocks would be refused by the ledger's
    key when recorded, not printed twice; checking blocks keeps a long run from holding a
    set of all its codes."""
    result = codes.Packed()
    while len(result) < count:
        want = min(BLOCK, count - len(result))
        drawn: dict[str, None] = {}  # ordered: the same draws give the same codes
        refused: set[str] = set()
        while len(drawn) < want:  # fill the block; drop what the ledger holds; fill again
            while len(drawn) < want:
                code = codes.generate(randbelow)
                if code not in refused:
                    drawn.setdefault(code)
            for code in ledger.existing(drawn):
                del drawn[code]
                refused.add(code)
        result.extend(drawn)
    return result


def _in_run_order(
    rows: Sequence[Row], recorded: Sequence[CertificateRecord]
) -> list[CertificateRecord]:
    """The recorded certificates in the order of ``rows`` (a run may be sorted, say by
    postal code), matched by source row; as recorded when rows cannot tell them apart."""
    by_row = {r.source_row: r for r in recorded}
    if None in by_row or len(by_row) != len(recorded):
        return list(recorded)
    ordered = [by_row[row.number] for row in rows if row.number in by_row]
    return ordered if len(ordered) == len(recorded) else list(recorded)


HINT = "use a new --batch-id for new input"


def _check_same_design(
    design: Design, rows: Sequence[Row], batch: BatchRecord, batch_id: str
) -> None:
    """A run id names one set of inputs: the same rows and design may be printed again
    (or finished, if the run was interrupted), anything else under that id is refused."""
    hint = HINT
    if batch.design != design.name or batch.design_hash != design.hash:
        raise RunMismatchError(
            f"batch {batch_id} was issued with design {batch.design} "
            f"({batch.design_hash}); this is {design.name} ({design.hash}); {hint}"
        )
    if len(rows) != batch.count:
        raise RunMismatchError(
            f"batch {batch_id} has {batch.count} certificates; this input has {len(rows)} rows; "
            f"{hint}"
        )


def _check_same_rows(
    rows: Sequence[Row], recorded: Sequence[CertificateRecord], batch_id: str
) -> None:
    hint = HINT
    for row, record in zip(rows, recorded, strict=False):
        if {name: str(value) for name, value in row.values.items()} != record.data:
            where = f"row {row.number}" if row.number else "the values"
            raise RunMismatchError(
                f"batch {batch_id}: {where} differs from what was issued; {hint}"
            )


def _check_same_list(batch: BatchRecord, fingerprint: str | None, run_id: str) -> None:
    """Every row of the list, not only those recorded so far: a resumed run finishes the
    list it started with."""
    if batch.fingerprint and fingerprint and batch.fingerprint != fingerprint:
        raise RunMismatchError(
            f"run {run_id} was made from another list: a row after the {batch.count} it "
            "started with, or one of them, was changed, added or removed; give the list as it "
            "was, or start a new run (--run-id NEW) for the changed one"
        )


def _check_same_settings(batch: BatchRecord, settings: str, run_id: str) -> None:
    """The options the run's output depends on, as recorded when it started (runs
    recorded before certgen kept them are not checked)."""
    if batch.settings is None or batch.settings == settings:
        return
    before, now = json.loads(batch.settings), json.loads(settings)
    changed = [
        "the rows are in another order (--sort-by, --order)"
        if key == "order"
        else f"{OPTION_NAMES.get(key, key)} was {_shown(before.get(key))}, now "
        f"{_shown(now.get(key))}"
        for key in sorted(set(before) | set(now))
        if before.get(key) != now.get(key)
    ]
    raise RunMismatchError(
        f"run {run_id} was made with other options: {'; '.join(changed)}; give them as the run "
        "had them, or start a new run (--run-id NEW)"
    )


def _shown(value: object) -> str:
    if value is None or value is False:
        return "not given"
    return "given" if value is True else f"'{value}'"
