"""Referral reports: per referrer, design, batch or month, as a table, CSV or JSON.

Rates: redemption = redeemed / issued; conversion = converted / redeemed (of the friends
who came in, how many became customers).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from certgen.tables import safe_cell

if TYPE_CHECKING:  # the report command's --help imports no ledger
    from certgen.ledger import Ledger

GROUPS = ("referrer", "design", "batch", "month")
FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class Line:
    group: str
    issued: int
    viewed: int  # certificates whose page a person opened at least once
    redeemed: int
    expired: int
    voided: int
    converted: int
    value: Decimal
    redemption_rate: float
    conversion_rate: float


def build(ledger: Ledger, by: str, today: dt.date | None = None) -> list[Line]:
    day = (today or dt.date.today()).isoformat()
    lines = []
    for row in ledger.summary(by, day):
        issued, redeemed, converted = (
            int(row["issued"]),
            int(row["redeemed"]),
            int(row["converted"]),
        )
        lines.append(
            Line(
                group=_referrer(row["key"], row["name"]) if by == "referrer" else row["key"] or "",
                issued=issued,
                viewed=int(row["viewed"]),
                redeemed=redeemed,
                expired=int(row["expired"]),
                voided=int(row["voided"]),
                converted=converted,
                value=Decimal(row["value"] or 0).quantize(Decimal("0.01")),
                redemption_rate=round(redeemed / issued, 4) if issued else 0.0,
                conversion_rate=round(converted / redeemed, 4) if redeemed else 0.0,
            )
        )
    if by == "referrer":  # the customers to thank first: most friends converted, then redeemed
        lines.sort(key=lambda line: (-line.converted, -line.redeemed, line.group))
    return lines


def _referrer(key: str | None, name: str | None) -> str:
    """A referrer as the report names them: the name printed, with the email that tells
    two customers of one name apart."""
    kind, _, identity = (key or "").partition(":")
    if kind == "email":
        return f"{name} <{identity}>" if name else identity
    return name or ""


def _headers(by: str) -> list[str]:
    return [by, *list(Line.__dataclass_fields__)[1:]]


def to_csv(lines: list[Line], by: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(_headers(by))
    for line in lines:
        writer.writerow([safe_cell(line.group), *list(asdict(line).values())[1:]])
    return buffer.getvalue()


def to_json(lines: list[Line], by: str) -> str:
    rows = [
        {by: line.group, **{k: v for k, v in asdict(line).items() if k != "group"}}
        for line in lines
    ]
    return json.dumps(rows, ensure_ascii=False, indent=2, default=str)


def to_table(lines: list[Line], by: str) -> str:
    rows = [
        [
            line.group or "(none)",
            str(line.issued),
            str(line.viewed),
            str(line.redeemed),
            str(line.expired),
            str(line.voided),
            str(line.converted),
            f"{line.value:,.2f}",
            f"{line.redemption_rate:.0%}",
            f"{line.conversion_rate:.0%}",
        ]
        for line in lines
    ]
    headers = [
        by,
        "issued",
        "viewed",
        "redeemed",
        "expired",
        "voided",
        "converted",
        "value",
        "redeem %",
        "convert %",
    ]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def fmt(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    return "\n".join([fmt(headers), *(fmt(r) for r in rows)])


RENDERERS = {"table": to_table, "csv": to_csv, "json": to_json}
