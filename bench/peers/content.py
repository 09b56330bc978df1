"""What every peer draws: the compact certificate's content, the same for each tool.

A page of 279.4 x 93.1 mm (a third of US Letter) with the title, the pain and the offer,
"For <recipient>", "This gift is for you from <giver>", the expiry, the business and its
phone, the code, the terms and a QR code of the redeem URL, in Noto Sans and Noto Serif.
"""

from __future__ import annotations

import json
from pathlib import Path

FONTS = Path(__file__).resolve().parents[2] / "fonts"
WIDTH_MM, HEIGHT_MM = 279.4, 93.1
BASE_URL = "https://gifts.example"
FIXED = {
    "title": "GIFT CERTIFICATE",
    "pain": "Tired of putting it off?",
    "offer": "Your first visit is on us",
    "business": "Riverside Auto Care",
    "phone": "(555) 010-2030",
    "expires": "Valid until 1 March 2027",
    "terms": "One gift per new customer. No cash value. Present this certificate or its code.",
}


def people(count: int) -> list[dict[str, str]]:
    """Rows as the list gives them; a peer's code is fixed, certgen draws its own."""
    return [
        {"recipient": f"Friend {i} Lee", "giver": f"Customer {i}", "code": f"PEER-{i:06d}-X"}
        for i in range(count)
    ]


def write_rows(path: Path, count: int) -> None:
    path.write_text(json.dumps(people(count)))


def write_csv(path: Path, count: int) -> None:
    lines = ["to,from"] + [f"{p['recipient']},{p['giver']}" for p in people(count)]
    path.write_text("\n".join(lines) + "\n")
