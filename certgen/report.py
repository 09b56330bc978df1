"""Referral reports: per referrer, design, batch, month or week of issue, or the staff
who redeemed, over a range of issue dates, as a table or CSV (with a totals row) or JSON.

Rates: redemption = redeemed / issued; conversion = converted / redeemed (of the friends
who came in, how many became customers). ``converted`` also counts friends who bought
without presenting the gift (``converted_without_gift``), credited to the referrer but
outside the conversion rate.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from certgen.tables import safe_cell

if TYPE_CHECKING:  # the report command's --help imports no ledger
    from certgen.ledger import Ledger

GROUPS = ("referrer", "design", "batch", "month", "week", "staff", "variant")
TOTAL = "Total"
INTERVALS = ("redemption_ci", "conversion_ci")
Z95 = 1.959964  # the normal quantile of a two-sided 95% interval
COUNTS = (
    "issued",
    "viewed",
    "redeemed",
    "expired",
    "voided",
    "converted",
    "converted_without_gift",
)
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
    converted_without_gift: int  # of them, friends who bought without presenting the gift
    value: Decimal
    redemption_rate: float
    conversion_rate: float
    # By variant: each rate's 95% Wilson interval (low, high), to tell a difference from noise.
    redemption_ci: tuple[float, float] | None = None
    conversion_ci: tuple[float, float] | None = None


def build(
    ledger: Ledger,
    by: str,
    today: dt.date | None = None,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[Line]:
    """One line per group, of the certificates issued from ``since`` through ``until``."""
    day = (today or dt.date.today()).isoformat()
    rows = ledger.summary(
        "day" if by == "week" else by,
        day,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
    )
    if by == "week":  # folded here from days: the engines name weeks differently
        rows = _fold(rows, _week)
    lines = []
    for row in rows:
        if by == "referrer":
            group = _referrer(row["key"], row["name"])
        elif by == "staff":
            group = row["key"] or "(not redeemed)"
        else:
            group = row["key"] or ""
        counts = {name: int(row[name]) for name in COUNTS}
        lines.append(_line(group, counts, Decimal(row["value"] or 0)))
    if by == "referrer":  # the customers to thank first: most friends converted, then redeemed
        lines.sort(key=lambda line: (-line.converted, -line.redeemed, line.group))
    if by == "variant":
        lines = [_intervals(line) for line in lines]
    return lines


def _intervals(line: Line) -> Line:
    came_in = line.converted - line.converted_without_gift
    return replace(
        line,
        redemption_ci=wilson(line.redeemed, line.issued),
        conversion_ci=wilson(came_in, line.redeemed),
    )


def total(lines: list[Line]) -> Line:
    """The lines added up, with the rates of the sums."""
    counts = {name: sum(getattr(line, name) for line in lines) for name in COUNTS}
    return _line(TOTAL, counts, sum((line.value for line in lines), Decimal(0)))


def _line(group: str, counts: dict[str, int], value: Decimal) -> Line:
    issued, redeemed = counts["issued"], counts["redeemed"]
    converted = counts["converted"] - counts["converted_without_gift"]  # of those who came in
    return Line(
        group=group,
        issued=issued,
        viewed=counts["viewed"],
        redeemed=redeemed,
        expired=counts["expired"],
        voided=counts["voided"],
        converted=counts["converted"],
        converted_without_gift=counts["converted_without_gift"],
        value=value.quantize(Decimal("0.01")),
        redemption_rate=round(redeemed / issued, 4) if issued else 0.0,
        conversion_rate=round(converted / redeemed, 4) if redeemed else 0.0,
    )


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` in ``trials`` (0..1; (0, 0) for none)."""
    if trials == 0:
        return (0.0, 0.0)
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    denominator = 1 + z * z / trials
    return (max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator))


def _week(day: str) -> str:
    """The ISO week a day (2026-11-23) falls in: 2026-W48."""
    year, week, _ = dt.date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def _fold(rows: list[dict[str, Any]], key: Callable[[str], str]) -> list[dict[str, Any]]:
    """Rows of days summed into the groups ``key`` names, in order."""
    folded: dict[str, dict[str, Any]] = {}
    for row in rows:
        into = folded.setdefault(key(row["key"]), {"key": key(row["key"]), "value": Decimal(0)})
        for name in COUNTS:
            into[name] = into.get(name, 0) + int(row[name])
        into["value"] += Decimal(row["value"] or 0)
    return [folded[name] for name in sorted(folded)]


def _referrer(key: str | None, name: str | None) -> str:
    """A referrer as the report names them: the name printed, with the email that tells
    two customers of one name apart."""
    kind, _, identity = (key or "").partition(":")
    if kind == "email":
        return f"{name} <{identity}>" if name else identity
    return name or ""


def _record(line: Line, by: str) -> dict[str, object]:
    """A line as CSV and JSON give it: by variant with each interval's two ends."""
    record: dict[str, object] = {by: line.group}
    record |= {k: v for k, v in asdict(line).items() if k not in ("group", *INTERVALS)}
    if by == "variant":
        for name in INTERVALS:
            low, high = getattr(line, name) or (None, None)
            stem = name.removesuffix("_ci")
            record[f"{stem}_low"] = None if low is None else round(low, 4)
            record[f"{stem}_high"] = None if high is None else round(high, 4)
    return record


def to_csv(lines: list[Line], by: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    records = [_record(line, by) for line in [*lines, total(lines)]]
    writer.writerow(list(records[-1]))
    for record in records:
        cells = ["" if v is None else v for v in record.values()]
        writer.writerow([safe_cell(str(cells[0])), *cells[1:]])
    return buffer.getvalue()


def to_json(lines: list[Line], by: str) -> str:
    rows = [_record(line, by) for line in lines]
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
            str(line.converted_without_gift),
            f"{line.value:,.2f}",
            f"{line.redemption_rate:.0%}",
            f"{line.conversion_rate:.0%}",
            *(_span(getattr(line, name)) for name in INTERVALS if by == "variant"),
        ]
        for line in [*lines, total(lines)]
    ]
    headers = [by, *COUNTS[:-1], "w/o gift", "value", "redeem %", "convert %"]
    if by == "variant":
        headers += ["redeem 95% CI", "convert 95% CI"]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def fmt(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    rule = "  ".join("-" * width for width in widths)  # above the totals
    return "\n".join([fmt(headers), *(fmt(r) for r in rows[:-1]), rule, fmt(rows[-1])])


def _span(interval: tuple[float, float] | None) -> str:
    return "" if interval is None else f"{interval[0]:.0%}-{interval[1]:.0%}"


RENDERERS = {"table": to_table, "csv": to_csv, "json": to_json}
