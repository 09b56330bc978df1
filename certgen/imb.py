"""The USPS Intelligent Mail barcode (IMb) of a mail piece, per USPS-B-3200.

Its 20-digit tracking code is the barcode identifier, the service type, the mailer's ID and
a serial the ledger gives each piece (``Ledger.reserve_serials``: unique to the mailer ID
for far longer than the 45 days USPS asks); its routing code is the delivery ZIP code. The
65 bars come from reportlab's encoder of the specification (``usps4s``); they are drawn
here to the specification's dimensions, at the middle of each tolerance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from certgen.errors import InputError, Problem

INCH = 25.4
# USPS-B-3200 (and DMM 708.4.4): mm, the middle of each range the specification allows.
BAR_WIDTH = 0.020 * INCH  # 0.015 to 0.025 in
PITCH = INCH / 22  # 20 to 24 bars an inch
FULL = 0.145 * INCH  # a full bar: 0.125 to 0.165 in
TRACKER = 0.048 * INCH  # the tracker: 0.039 to 0.057 in
ASCENDER = (FULL + TRACKER) / 2  # from the tracker's bottom to a full bar's top
CLEAR_X = 0.125 * INCH  # the clear zone left and right of the bars
CLEAR_Y = 0.028 * INCH  # and above and below them
LENGTH = 64 * PITCH + BAR_WIDTH  # 2.667 to 3.225 in
HEIGHT = FULL + 2 * CLEAR_Y  # what the barcode takes of the address block, clear zones in
SERIAL_REUSE_DAYS = 45  # USPS: a serial is unique to its mailer ID for 45 days at least


@dataclass(frozen=True)
class Plan:
    """A run's IMb: the same barcode identifier, service type and mailer ID on every piece."""

    mailer_id: str  # 6 digits (0 to 8 first) or 9 (a 9 first)
    service_type: str  # 3 digits, USPS's Service Type ID
    barcode_id: str = "00"  # 2 digits, the second 0 to 4

    @property
    def serial_digits(self) -> int:
        return 15 - len(self.mailer_id)

    @property
    def modulus(self) -> int:
        return int(10**self.serial_digits)

    def describe(self) -> str:
        return f"barcode {self.barcode_id}, service {self.service_type}, mailer {self.mailer_id}"

    def tracking(self, serial: int) -> str:
        """The 20-digit tracking code of the piece with ``serial``."""
        number = f"{serial % self.modulus:0{self.serial_digits}d}"
        return f"{self.barcode_id}{self.service_type}{self.mailer_id}{number}"


def plan(mailer_id: str, service_type: str, barcode_id: str = "00") -> Plan:
    """The plan the options give, or what is wrong with them."""
    problems = []
    if not (re.fullmatch(r"[0-8]\d{5}", mailer_id) or re.fullmatch(r"9\d{8}", mailer_id)):
        problems.append(
            Problem(
                f"--imb-mailer-id {mailer_id}: a USPS mailer ID is 6 digits (starting 0 to 8) "
                "or 9 digits (starting with 9)",
                hint="use the mailer ID USPS gave you (Business Customer Gateway)",
            )
        )
    if not re.fullmatch(r"\d{3}", service_type):
        problems.append(
            Problem(
                f"--imb-service-type {service_type}: a Service Type ID is 3 digits",
                hint="pick yours from USPS's STID table, e.g. 270 (First-Class Mail, Full-Service)",
            )
        )
    if not re.fullmatch(r"\d[0-4]", barcode_id):
        problems.append(
            Problem(
                f"barcode identifier {barcode_id}: 2 digits, the second 0 to 4",
                hint="leave it at 00 unless USPS's presort software gives another",
            )
        )
    if problems:
        raise InputError(problems)
    return Plan(mailer_id, service_type, barcode_id)


def routing(postal_code: str) -> str | None:
    """The IMb routing code of a US postal code (ZIP, ZIP+4, or ZIP+4 with the delivery
    point), or None when it is not one."""
    digits = re.sub(r"[\s-]", "", postal_code)
    return digits if re.fullmatch(r"\d{5}|\d{9}|\d{11}", digits) else None


def bars(tracking: str, route: str) -> str:
    """The 65 bars, each F (full), A (ascender), D (descender) or T (tracker)."""
    from reportlab.graphics.barcode.usps4s import USPS_4State

    letters: str = USPS_4State(tracking, route).barcodes
    return letters
