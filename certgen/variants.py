"""Variants of a campaign: several pain/offer wordings in one run, to learn which one brings
customers. Rows are dealt to the variants in turn (row 1 to A, row 2 to B, ...), so the
split is even within one row per variant and the same on a reprint or a resumed run; each
certificate records its variant's name in its data, and the report groups by it, with a
Wilson interval for each rate so that a difference of noise reads as one.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

from certgen import inputs
from certgen.design import Design
from certgen.errors import InputError, Problem

FIELD = "variant"  # the data key a certificate's variant is recorded under


@dataclass(frozen=True)
class Variant:
    name: str
    values: dict[str, inputs.Value]


def from_options(specs: Sequence[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``--variant "pain=...;offer=..."`` options as (where, [(field, text)]); a part that
    is not FIELD=VALUE is kept with an empty field for ``parse`` to report."""
    found = []
    for number, spec in enumerate(specs, start=1):
        pairs = []
        for part in (p for p in spec.split(";") if p.strip()):
            key, equals, raw = part.partition("=")
            pairs.append((key.strip() if equals else "", raw if equals else part.strip()))
        found.append((f"--variant {number}", pairs))
    return found


def from_config(
    tables: Sequence[Mapping[str, str]], path: str
) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[[variants]]`` tables of certgen.toml, located as ``path: [[variants]] N``."""
    return [
        (f"{path}: [[variants]] {number}", list(table.items()))
        for number, table in enumerate(tables, start=1)
    ]


def parse(
    given: Sequence[tuple[str, list[tuple[str, str]]]],
    design: Design,
    issued_on: dt.date,
    label: str = "--variant",
) -> list[Variant]:
    """Variants as given (``from_options``, ``from_config``; ``label`` says where the set
    is): ``name`` names one (else A, B, ...), each value checked as its field's own;
    every problem, located."""
    found, problems = [], []
    protected = inputs.protected_fields(design)
    for number, (where, pairs) in enumerate(given, start=1):
        values: dict[str, inputs.Value] = {}
        name = string.ascii_uppercase[number - 1] if number <= 26 else f"V{number}"
        for key, text in pairs:
            raw = inputs.clean(text)
            if not key:
                problems.append(Problem(f"{where}: '{text}' is not FIELD=VALUE"))
                continue
            if key == "name":
                name = raw
                continue
            spec_ = design.fields.get(key)
            if spec_ is None:
                fields = ", ".join(n for n in design.fields if n not in protected)
                problems.append(Problem(f"{where}: unknown field '{key}' (fields: {fields})"))
            elif key in protected:
                problems.append(
                    Problem(f"{where}: '{key}' is {protected[key]}, the same on every certificate")
                )
            elif len(raw) > spec_.max_length:
                problems.append(
                    Problem(
                        f"{where}: {key} is {len(raw)} characters; the limit is {spec_.max_length}"
                    )
                )
            else:
                try:
                    values[key] = inputs.convert(spec_, raw, issued_on)
                except ValueError as exc:
                    problems.append(Problem(f"{where}: {key}: {exc}"))
        if not values and not problems:
            problems.append(
                Problem(f"{where}: sets no field; write --variant 'pain=...;offer=...'")
            )
        found.append(Variant(name, values))
    names = [v.name for v in found]
    for twice in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem(f"{label}: the name '{twice}' is given twice"))
    if len(found) == 1:
        problems.append(Problem(f"{label}: one variant is no test; give two or more"))
    if problems:
        raise InputError(problems)
    return found


class Dealt(Sequence[inputs.Row]):
    """``rows`` with row i given variant i mod n: its values over the row's own, and its
    name in the ``variant`` field. Read lazily, like the list it wraps."""

    def __init__(self, rows: Sequence[inputs.Row], variants: Sequence[Variant]):
        self.rows, self.variants = rows, list(variants)

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> inputs.Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[inputs.Row]: ...

    def __getitem__(self, index: int | slice) -> inputs.Row | list[inputs.Row]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = range(len(self.rows))[index]
        row = self.rows[position]
        variant = self.variants[position % len(self.variants)]
        values = {**row.values, **variant.values, FIELD: variant.name}
        return inputs.Row(row.number, values, row.columns)

    def __iter__(self) -> Iterator[inputs.Row]:
        return (self[i] for i in range(len(self)))


def conflicts(rows: Sequence[inputs.Row], variants: Sequence[Variant], file: str) -> list[Problem]:
    """A field both a column of the list and a variant would fill: the variant would
    silently replace each row's own value, so it is refused."""
    if not rows:
        return []
    columns = rows[0].columns
    return [
        Problem(
            f"--variant sets '{name}', which the list's column '{columns[name]}' fills too",
            file,
            1,
            columns[name],
            f"leave the column out with --ignore '{columns[name]}', or the field out of the "
            "variants",
        )
        for name in sorted({k for v in variants for k in v.values})
        if name in columns
    ]
