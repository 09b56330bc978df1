"""Which openings of a certificate's page count as somebody looking at it: not a link
preview (a chat app or mail client fetching the page to show a card), a crawler, a
prefetch or a script. Nothing about the viewer is kept; the header is only read."""

from __future__ import annotations

import re
from typing import Protocol

# The user agents of link previews, crawlers and HTTP libraries, by the words they carry.
NOT_A_PERSON = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|facebookexternalhit|facebookcatalog|embedly|"
    r"whatsapp|telegram|skypeuri|discord|slack|linkedin|pinterest|vkshare|quora link|"
    r"outbrain|bitlybot|iframely|curl/|wget/|python-|httpx|okhttp|go-http|java/|"
    r"libwww|axios|node-fetch|postman|insomnia|googleimageproxy|yahoomailproxy",
    re.IGNORECASE,
)
PREFETCH_HEADERS = ("Purpose", "Sec-Purpose", "X-Purpose", "X-Moz")


class Headers(Protocol):
    def get(self, key: str, default: str) -> str: ...


def counts(method: str, headers: Headers) -> bool:
    """Whether this request is a person opening the page."""
    if method != "GET":
        return False
    if any("prefetch" in headers.get(name, "").lower() for name in PREFETCH_HEADERS):
        return False
    agent = headers.get("User-Agent", "")
    return bool(agent) and NOT_A_PERSON.search(agent) is None
