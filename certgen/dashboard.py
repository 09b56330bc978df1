"""The owner's dashboard: the funnel from issued to converted, over time and per campaign,
design, variant, location and staff, the referrers who bring the most, and the gifts about
to expire unredeemed. The same page is served at /dashboard and written as one
self-contained HTML file by ``certgen report --format html``.

Numbers come from two grouped queries (``Ledger.rollup`` and ``Ledger.referrers``), folded
by ``report``; Chart.js (from the npm registry, in ``web_static/vendor``) draws them, and
each chart has its table beside it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2

from certgen import codes, report
from certgen.report import Line

if TYPE_CHECKING:
    from certgen.ledger import CertificateRecord, Ledger

EXPIRING_DAYS = 30
EXPIRING_SHOWN = 50
TOP_REFERRERS = 10
PERIODS = ("week", "month")
# Each breakdown: the report grouping it folds, and its heading.
BREAKDOWNS = (
    ("batch", "By campaign"),
    ("design", "By design"),
    ("variant", "By variant"),
    ("location", "By location"),
    ("staff", "By staff"),
)
FLOW = ("issued", "redeemed", "converted")
AT_THE_COUNTER = ("location", "staff")  # groupings known only once a friend redeems
SCRIPTS = ("vendor/chart.umd.js", "dashboard.js")
STYLE = "style.css"


@dataclass(frozen=True)
class Dashboard:
    today: dt.date
    since: dt.date | None
    until: dt.date | None
    period: str  # week or month
    funnel: Line  # every certificate of the range, added up
    over_time: list[Line]
    breakdowns: list[tuple[str, str, list[Line]]]  # (grouping, heading, lines)
    referrers: list[Line]  # the top TOP_REFERRERS, most converted first
    referrer_count: int
    expiring: int  # unredeemed gifts expiring in the next EXPIRING_DAYS days
    expiring_soonest: list[CertificateRecord]

    def chart_data(self) -> dict[str, Any]:
        """What dashboard.js draws: each chart's labels and its series, in order."""

        def chart(lines: list[Line], *names: str) -> dict[str, Any]:
            return {
                "labels": [line.group or "(none)" for line in lines],
                "series": [
                    {"name": name, "data": [_number(getattr(line, name)) for line in lines]}
                    for name in names
                ],
            }

        f = self.funnel
        charts = {
            "funnel": {
                "labels": ["Issued", "Viewed", "Redeemed", "Converted"],
                "series": [
                    {"name": "certificates", "data": [f.issued, f.viewed, f.redeemed, f.converted]}
                ],
            },
            "over_time": chart(self.over_time, *FLOW),
            "referrers": chart(self.referrers, "redeemed", "converted"),
        }
        for by, _, lines in self.breakdowns:
            if by in AT_THE_COUNTER:  # where friends came in: the rest have no place yet
                redeemed = [line for line in lines if line.group != report.NOT_REDEEMED]
                charts[by] = chart(redeemed, "redeemed", "converted")
            else:
                charts[by] = chart(lines, *FLOW)
        return charts


def build(
    ledger: Ledger,
    today: dt.date,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    period: str = "week",
) -> Dashboard:
    day = today.isoformat()
    first, last = (since.isoformat() if since else None), (until.isoformat() if until else None)
    rollup = ledger.rollup(day, since=first, until=last)
    referrers = report.referrers(ledger.referrers(day, since=first, until=last))
    expiring, soonest = ledger.expiring(
        day, (today + dt.timedelta(days=EXPIRING_DAYS)).isoformat(), limit=EXPIRING_SHOWN
    )
    return Dashboard(
        today=today,
        since=since,
        until=until,
        period=period,
        funnel=report.total(report.lines(rollup, "batch")),
        over_time=report.lines(rollup, period),
        breakdowns=[(by, heading, report.lines(rollup, by)) for by, heading in BREAKDOWNS],
        referrers=referrers[:TOP_REFERRERS],
        referrer_count=len(referrers),
        expiring=expiring,
        expiring_soonest=soonest,
    )


def _number(value: object) -> float | int:
    return value if isinstance(value, int) else float(str(value))


def context(dashboard: Dashboard) -> dict[str, Any]:
    """What the dashboard's templates read, served or in a file."""
    return {
        "d": dashboard,
        "data": dashboard.chart_data(),
        "scripts": SCRIPTS,
        "periods": PERIODS,
        "expiring_days": EXPIRING_DAYS,
        "display": codes.display,
        "percent": lambda rate: f"{rate:.0%}",
        "money": lambda value: f"{value:,.2f}",
        "span": lambda ci: "" if ci is None else f"{ci[0]:.0%} to {ci[1]:.0%}",
    }


_FILES = jinja2.Environment(  # certgen's own trusted templates, escaped, as Flask reads them
    loader=jinja2.PackageLoader("certgen", "web_templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def standalone(dashboard: Dashboard, *, business: str) -> str:
    """The dashboard as one HTML file that opens from disk: its scripts and style inline,
    and a policy that lets the page load nothing from anywhere, the network included."""
    static = resources.files("certgen") / "web_static"
    inline = {name: (static / name).read_text(encoding="utf-8") for name in (*SCRIPTS, STYLE)}
    for name in (*SCRIPTS, STYLE):
        if re.search(r"</(script|style)", inline[name], re.IGNORECASE):  # would end it early
            raise RuntimeError(f"{name} cannot be inlined: it holds a closing tag")
    hashes = " ".join(f"'{_digest(inline[name])}'" for name in SCRIPTS)
    policy = (
        f"default-src 'none'; script-src {hashes}; style-src '{_digest(inline[STYLE])}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    page = _FILES.get_template("dashboard_file.html")
    return page.render(context(dashboard), business=business, inline=inline, policy=policy)


def _digest(text: str) -> str:
    """A CSP source for exactly this inline script or style."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
