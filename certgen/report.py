"""Referral reports: per referrer, design, batch, variant, month or week of issue, or the
staff who redeemed and where, over a range of issue dates, as a table or CSV (with a totals
row) or JSON; the dashboard draws the same lines.

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

GROUPS = ("referrer", "design", "batch", "month", "week", "staff", "location", "variant")
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
FORMATS = ("table", "csv", "json", "html")  # html: the dashboard as one file (dashboard.py)


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
    first, last = (since.isoformat() if since else None), (until.isoformat() if until else None)
    if by == "referrer":
        return referrers(ledger.referrers(day, since=first, until=last))
    return lines(ledger.rollup(day, since=first, until=last), by)


def lines(rollup: list[dict[str, Any]], by: str) -> list[Line]:
    """The ledger's rollup rows folded into one line per ``by`` group, in order."""
    key = KEYS[by]
    folded = _fold(rollup, key)
    made = [_line(_name(name, by), counts, value) for name, (counts, value) in folded]
    return [_intervals(line) for line in made] if by == "variant" else made


def referrers(rows: list[dict[str, Any]]) -> list[Line]:
    """One line per referrer, the customers to thank first: most friends converted, then
    redeemed."""
    made = [_line(_referrer(row["key"], row["name"]), _counted(row), _value(row)) for row in rows]
    return sorted(made, key=lambda line: (-line.converted, -line.redeemed, line.group))


# The runs of the gifts that thank-you emails carry (certgen.gifts), one per redemption:
# counted as one group, the referrals that came of a referral.
REPEAT_PREFIX = "thanks-"
REPEATS = "repeat referrals (thank-you gifts)"

# How each grouping names a rollup row's group.
KEYS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "design": lambda row: row["design"],
    "batch": lambda row: REPEATS if row["batch"].startswith(REPEAT_PREFIX) else row["batch"],
    "month": lambda row: row["day"][:7],
    "week": lambda row: _week(row["day"]),  # ISO weeks here: the engines name them differently
    "day": lambda row: row["day"],
    "staff": lambda row: row["staff"],
    "location": lambda row: row["location"],
    "variant": lambda row: row["variant"],
}
NOT_REDEEMED = "(not redeemed)"


def _name(group: str | None, by: str) -> str:
    if group is None and by in ("staff", "location"):
        return NOT_REDEEMED
    return group or ""


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


def _fold(
    rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], str | None]
) -> list[tuple[str | None, tuple[dict[str, int], Decimal]]]:
    """Rollup rows summed into the groups ``key`` names, in order (no group last)."""
    folded: dict[str | None, tuple[dict[str, int], list[Decimal]]] = {}
    for row in rows:
        counts, value = folded.setdefault(key(row), ({name: 0 for name in COUNTS}, [Decimal(0)]))
        for name in COUNTS:
            counts[name] += int(row[name])
        value[0] += _value(row)
    order = sorted(folded, key=lambda name: (name is None, name or ""))
    return [(name, (folded[name][0], folded[name][1][0])) for name in order]


def _counted(row: dict[str, Any]) -> dict[str, int]:
    return {name: int(row[name]) for name in COUNTS}


def _value(row: dict[str, Any]) -> Decimal:
    return Decimal(row["value"] or 0)


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
