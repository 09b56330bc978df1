"""The business's colour on its web pages, kept readable: WCAG 2 contrast, so any brand
colour a shop sets gives text that passes AA (4.5:1) on the colour and on the page."""

from __future__ import annotations

from certgen.units import parse_color

WHITE = "#ffffff"
DARK = "#1e1e2e"  # the pages' text colour
PAGE = "#faf8f4"  # the pages' background
AA = 4.5  # WCAG 2 AA for body text


def luminance(color: str) -> float:
    """Relative luminance (WCAG 2) of ``#RRGGBB``."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in parse_color(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_on(color: str) -> str:
    """White or the dark text colour, whichever reads better on ``color``."""
    return WHITE if contrast(WHITE, color) >= contrast(DARK, color) else DARK


def ink(color: str, background: str = PAGE, minimum: float = AA) -> str:
    """``color``, darkened only as far as needed to read as text on ``background`` (at
    ``minimum`` contrast: 3 is WCAG's for large text, as a certificate's headings are)."""
    r, g, b = parse_color(color)
    for step in range(101):
        keep = 1 - step / 100
        shade = "#{:02x}{:02x}{:02x}".format(*(round(c * keep * 255) for c in (r, g, b)))
        if contrast(shade, background) >= minimum:
            return shade
    return DARK  # unreachable: black on the page passes


def stylesheet(color: str) -> str:
    """CSS custom properties the pages' style.css reads: the band and buttons in the brand
    colour with readable text on them, and links and outlines in a readable shade of it."""
    return (
        f":root {{ --brand: {color.lower()}; --on-brand: {text_on(color)}; "
        f"--brand-ink: {ink(color)}; }}\n"
    )
