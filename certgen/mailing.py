"""Window-envelope mailers: where the address block goes so it shows through the window.

A mailer is a sheet of the envelope's paper folded in three. The top panel carries the
addressee's address, inside the area of the envelope's window that stays visible as the
folded sheet moves in the envelope, the business's return address above it where the post
looks for one (USPS: the upper left of the address area; DIN 5008: the return line above
the recipient zone), and beside the window a short cover letter from the design. Fold
marks at the paper's edges show where to fold. The certificate goes below the first fold
when it fits there, else on a page of its own after the mailer. Everything is millimetres
from the sheet's top-left corner.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from certgen import imb as imb_mod
from certgen.design import FieldSpec

INCH = 25.4
SENDER_LINE = 4.0  # mm: one 8 pt line of the address font, its ascenders to its descenders


@dataclass(frozen=True)
class Envelope:
    name: str
    title: str
    paper: tuple[float, float]  # the mailer sheet's width and height
    folds: tuple[float, ...]  # from the top
    # The window on the unfolded sheet when the folded sheet rests, centred, at the
    # bottom of the envelope: (left, top, right, bottom).
    window: tuple[float, float, float, float]
    # Where the address is printed: inside the window with room for the sheet to shift.
    address: tuple[float, float, float, float]
    # The return address: above the address, in the window too, at most ``sender_lines``.
    sender_zone: tuple[float, float, float, float]
    sender_lines: int
    # The cover letter, in the top panel beside the window (hidden in the envelope).
    letter: tuple[float, float, float, float]
    style: str  # "us": CITY, ST ZIP; "din": postal code before the town
    # Whose name heads the address: the recipient (the business delivers the gift) or the
    # giver (the business mails it to its customer, who passes it on).
    addressee: str = "recipient"
    sender: str = ""  # the business's return address, as printed; "" prints none
    current_resident: bool = False  # "Or Current Resident" under the name
    imb: imb_mod.Plan | None = None  # an Intelligent Mail barcode above the address

    def describe(self) -> str:
        """What the mailer is, for a run's settings."""
        sender = f", return address '{self.sender}'" if self.sender else ""
        resident = ", or current resident" if self.current_resident else ""
        barcode = f", IMb {self.imb.describe()}" if self.imb else ""
        return f"{self.name}, to the {self.addressee}{sender}{resident}{barcode}"

    def with_imb(self, plan: imb_mod.Plan) -> Envelope:
        """The envelope with an IMb in the window, between the return address's line and
        the address: its clear zone above in the gap below the return address, below in
        the blank above the address's first capitals."""
        band = self.sender_zone[3]
        top = band + imb_mod.CLEAR_Y + imb_mod.FULL
        return dataclasses.replace(
            self, imb=plan, address=(*self.address[:1], top, *self.address[2:])
        )

    @property
    def barcode_at(self) -> tuple[float, float]:
        """Where the IMb's first bar starts, and the top of its band (clear zone in)."""
        return self.address[0], self.sender_zone[3]

    def return_address(self, business: str, address: str) -> str:
        """The business's name and address as one return line ("" without an address:
        a name alone cannot bring a letter back)."""
        parts = [" ".join(p.split()) for p in (business, *address.replace(";", "\n").split("\n"))]
        if not " ".join(parts[1:]).strip():
            return ""
        return (", " if self.style == "us" else " · ").join(p for p in parts if p)

    def lines(self, name: str, address: dict[str, str]) -> list[str]:
        """The address block, one line each, in this envelope's country's order."""
        street = [address.get("street", ""), address.get("street2", "")]
        city, region, code = (address.get(k, "") for k in ("city", "region", "postal_code"))
        if self.style == "us":
            town = f"{city}, {region} {code}" if region else f"{city} {code}"
        else:
            town = f"{code} {city} {region}".strip()
        country = address.get("country", "").upper()
        resident = RESIDENT if self.current_resident else ""
        return [line for line in (name, resident, *street, town.strip(), country) if line]


ENVELOPES = {
    # US #10 (9.5 x 4.125 in), window 4.5 x 1.125 in at 7/8 in from the left and 1/2 in
    # from the bottom, holding US Letter folded in three (folds at 11/3 and 22/3 in).
    "us10": Envelope(
        "us10",
        "US #10 window envelope, US Letter folded in three",
        (8.5 * INCH, 11 * INCH),
        (11 / 3 * INCH, 22 / 3 * INCH),
        (0.375 * INCH, (11 / 3 - 1.625) * INCH, 4.875 * INCH, (11 / 3 - 0.5) * INCH),
        # USPS's clear zone: 1/8 in between the window's edges and anything printed.
        (1.0 * INCH, (2 + 1 / 6) * INCH + SENDER_LINE + 0.8, 4.5 * INCH, (3 + 1 / 24) * INCH),
        (1.0 * INCH, (2 + 1 / 6) * INCH, 4.5 * INCH, (2 + 1 / 6) * INCH + SENDER_LINE),
        1,
        (5.0 * INCH, 0.5 * INCH, 8.0 * INCH, 3.4 * INCH),
        "us",
    ),
    # DL (220 x 110 mm) per DIN 680, window 90 x 45 mm at 20 mm from the left and 15 mm from
    # the bottom, holding A4 folded per DIN 5008 form B (folds at 105 and 210 mm); the
    # address goes in the form's recipient zone, 5 mm in from the field's left edge, the
    # return line at the foot of the zone above it, the letter where the form's
    # information block is.
    "dl": Envelope(
        "dl",
        "DL window envelope (DIN 680), A4 folded per DIN 5008 form B",
        (210.0, 297.0),
        (105.0, 210.0),
        (15.0, 45.0, 105.0, 90.0),
        (25.0, 62.7, 100.0, 87.7),
        (25.0, 52.7, 100.0, 61.7),
        2,
        (125.0, 27.0, 195.0, 100.0),
        "din",
    ),
}
DEFAULT_ENVELOPE = "us10"
RESIDENT = "Or Current Resident"  # USPS's alternative addressee line, under the name
ADDRESSEES = ("recipient", "giver")
FOLD_MARK = 6.0  # mm, drawn in from the paper's left and right edges
ADDRESS_FONT = "Noto Sans"  # a shared font, so every design has it, with its fallbacks
ADDRESS_SIZE = 10.0  # pt, shrinking to ADDRESS_MIN_SIZE where a line is too long
ADDRESS_MIN_SIZE = 8.0  # USPS asks for 8 pt at least, for the address and the return address
LETTER_SIZE = 10.0  # pt, shrinking to ADDRESS_MIN_SIZE for a long letter

# The columns of a mailing address, as fields beside the design's own: read from any CSV
# that has them (and recorded with its row), required only for a mailing run.
FIELDS = {
    "street": FieldSpec(
        label="Street address",
        required=True,
        max_length=100,
        aliases=("address1", "address_1", "address_line_1", "street_address", "street1"),
    ),
    "street2": FieldSpec(
        label="Second address line",
        max_length=100,
        aliases=("address2", "address_2", "address_line_2", "apartment", "suite"),
    ),
    "city": FieldSpec(label="City", required=True, max_length=60, aliases=("town", "locality")),
    "region": FieldSpec(
        label="State, province or region", max_length=40, aliases=("state", "province", "county")
    ),
    "postal_code": FieldSpec(
        label="Postal code",
        required=True,
        max_length=20,
        aliases=("zip", "zip_code", "zipcode", "postcode", "postal", "plz"),
    ),
    "country": FieldSpec(label="Country", max_length=60),
}


def fields(mailing: bool) -> dict[str, FieldSpec]:
    """The address fields, with street, city and postal code required for a mailing run."""
    if mailing:
        return FIELDS
    return {name: spec.model_copy(update={"required": False}) for name, spec in FIELDS.items()}
