"""Times as the shop reads them: in its time zone, in its locale's words (Babel, CLDR).
The ledger keeps UTC; only pages shown to people are converted."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_datetime, format_timedelta

from certgen.config import zone

JUST_NOW = dt.timedelta(minutes=1)
LATELY = dt.timedelta(hours=1)  # before this, "12 minutes ago"; after, the date and time


class Clock:
    def __init__(self, timezone: str | None, locale: str):
        self.zone = zone(timezone)  # None: this machine's
        self.locale = locale

    def at(self, iso: str) -> str:
        """A recorded UTC time as the shop's local date and time: "Dec 2, 2026, 4:05:00 PM"."""
        local = dt.datetime.fromisoformat(iso).astimezone(self.zone)
        return format_datetime(local, "medium", tzinfo=local.tzinfo, locale=self.locale)

    def ago(self, iso: str, now: dt.datetime) -> str:
        """ "just now", "12 minutes ago", else ``at``."""
        since = now - dt.datetime.fromisoformat(iso)
        if since < JUST_NOW:
            return "just now"
        if since < LATELY:
            return format_timedelta(-since, add_direction=True, locale=self.locale)
        return self.at(iso)
