"""A new gift in the referrer's thank-you (``[notify] new_gift = true``): when a friend
redeems, the customer who referred them gets a fresh certificate to pass to another friend.

It is issued as a run of its own (batch ``thanks-<the redeemed code>``: one per thanked
redemption, so a retried thank-you carries the same gift), from the design and campaign of
the gift that was used, with the friend's line blank and the same validity from today; its
PDF is kept in the app folder like any run's file, and ``certgen report --by batch`` counts
these runs together as repeat referrals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from certgen import codes, inputs, issue, profiles, qr
from certgen import design as design_mod
from certgen.brand import Brand
from certgen.errors import InputError
from certgen.ledger import CertificateRecord, Ledger
from certgen.report import REPEAT_PREFIX as BATCH_PREFIX

# What the used gift said that the new one does not repeat: the friend is someone new.
FRESH = {"recipient", *(f"recipient_{part}" for part in ("email", "phone", "id")), "variant"}


@dataclass(frozen=True)
class Gift:
    code: str
    expires_on: str | None
    url: str  # its page, as the QR code says
    pdf: bytes


@dataclass(frozen=True)
class GiftMaker:
    designs_dirs: list[Path]
    base_url: str
    defaults: Mapping[str, str]
    folder: Path  # where each gift's PDF is kept
    logo: Path | None = None
    brand: Brand | None = None  # the business's kit, as its runs print

    def make(self, ledger: Ledger, used: CertificateRecord, today: dt.date) -> Gift:
        """The gift for the referrer of ``used``: issued and recorded now, or the one
        issued for it before."""
        batch_id = BATCH_PREFIX + used.code
        made = ledger.batch(batch_id)
        if not made:
            self._issue(ledger, used, batch_id, today)
            made = ledger.batch(batch_id)
        (gift,) = made
        return Gift(
            gift.code,
            gift.expires_on,
            qr.redeem_url(self.base_url, gift.code),
            Path(gift.file).read_bytes(),
        )

    def _issue(
        self, ledger: Ledger, used: CertificateRecord, batch_id: str, today: dt.date
    ) -> None:
        found = design_mod.locate(used.design, self.designs_dirs)
        design = design_mod.load(found, emails=False).branded(self.brand, self.logo)
        given = {name: value for name, value in used.data.items() if name not in FRESH}
        given["recipient"] = ""  # left blank: the referrer writes in the next friend
        if used.expires_on and "expires" in design.fields:  # as long to use it as before
            valid = dt.date.fromisoformat(used.expires_on) - dt.date.fromisoformat(
                used.issued_at[:10]
            )
            given["expires"] = (today + valid).isoformat()
        row, problems = inputs.resolve(
            design, given, self.defaults, today, extra=profiles.PERSON_FIELDS
        )
        if problems:
            raise InputError(problems)
        self.folder.mkdir(parents=True, exist_ok=True)
        issue.issue(
            design,
            [row],
            output=self.folder / f"{batch_id}.pdf",
            ledger=ledger,
            base_url=self.base_url,
            source=f"thank-you for {codes.display(used.code)}",
            batch_id=batch_id,
        )
