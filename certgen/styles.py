"""A design's look by name: its brand kit (``[brand]``: primary and accent colours, heading
and body fonts), more named colours (``[colors]``) and named text styles (``[styles.NAME]``).

An element says ``style = "heading"`` and ``color = "primary"``; ``resolve`` turns the
manifest's data into plain values before it is validated, with the business's kit
(``brand.Brand``) in place of the design's own except what the design keeps (``fixed``),
so everything after it (fitting, drawing, checks) sees ordinary fonts and #RRGGBB colours.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from certgen import palette as palette_mod
from certgen.brand import Brand
from certgen.errors import DesignError

FACES = ("regular", "bold", "italic", "bold_italic")
# A face a font lacks is drawn in the nearest it has (a brand font with no bold).
NEAREST = {
    "regular": ("regular",),
    "bold": ("bold", "regular"),
    "italic": ("italic", "regular"),
    "bold_italic": ("bold_italic", "bold", "italic", "regular"),
}
ROLES = {"heading": "heading_font", "body": "body_font"}  # font = "heading" names the kit's
COLOUR_KEYS = ("color", "fill", "stroke", "tint")
PAGE_COLOUR_KEYS = ("background_color", "background_tint")
# What a style may set, as the element's own keys (its face is the element's ``style``).
STYLE_KEYS = ("font", "size", "min_size", "line_height", "color", "align")
STAND_IN_FONT = "Noto Sans"  # a shared family: checks go on past a font role not set
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Kit(_Model):
    """The design's own brand kit: its look where the business has set none ([brand] in
    certgen.toml), and which parts it keeps whatever the business's kit says."""

    primary: str | None = Field(default=None, description='#RRGGBB; elements say "primary"')
    accent: str | None = Field(default=None, description='#RRGGBB; elements say "accent"')
    heading_font: str | None = Field(default=None, description='a family; fonts say "heading"')
    body_font: str | None = Field(default=None, description='a family; fonts say "body"')
    fixed: tuple[Literal["primary", "accent", "heading_font", "body_font"], ...] = Field(
        default=(), description="what the design keeps as it is, whatever the business's kit"
    )


class Style(_Model):
    """A named text style: what an element with ``style = NAME`` has unless it sets it."""

    font: str | None = Field(default=None, description='a family, "heading" or "body"')
    face: Literal["regular", "bold", "italic", "bold_italic"] | None = None
    size: float | None = Field(default=None, ge=5, le=500, description="pt")
    min_size: float | None = Field(default=None, ge=5, le=500, description="pt")
    line_height: float | None = Field(default=None, ge=0.8, le=3)
    color: str | None = Field(default=None, description="#RRGGBB or a colour's name")
    align: Literal["left", "center", "right"] | None = None


class Look(BaseModel):
    """The parts of a manifest ``resolve`` reads; the rest is the manifest's."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)
    brand: Kit = Kit()
    colors: dict[str, str] = {}
    styles: dict[str, Style] = {}


def uses_kit(data: Mapping[str, Any]) -> bool:
    """Whether the business's kit can change anything of the design."""
    kit = data.get("brand")
    return isinstance(kit, dict) and any(k in kit for k in ("primary", "accent", *ROLES.values()))


def resolve(
    data: Mapping[str, Any], look: Look, business: Brand | None, where: str
) -> tuple[dict[str, Any], list[DesignError]]:
    """The manifest's data with every style, colour name and font role replaced by its
    value, and each problem located (an unknown name, with the names it could be)."""
    problems: list[DesignError] = []
    palette = _palette(look, business, where, problems)
    fonts = {}
    for role, key in ROLES.items():
        family = _kit_font(look.brand, key, business)
        if family:
            fonts[role] = family
    resolved = copy.deepcopy(dict(data))
    page = resolved.get("design")
    if isinstance(page, dict):
        for key in PAGE_COLOUR_KEYS:
            if isinstance(page.get(key), str):
                try:
                    page[key] = _colour(page[key], palette, where, None, f"design.{key}")
                except DesignError as exc:
                    problems.append(exc)
    elements = resolved.get("elements")
    for element in elements if isinstance(elements, list) else ():
        if isinstance(element, dict):
            _resolve_element(element, look, palette, fonts, where, problems)
    return resolved, problems


def _palette(
    look: Look, business: Brand | None, where: str, problems: list[DesignError]
) -> dict[str, str]:
    kit = look.brand
    palette: dict[str, str] = {}
    for name in ("primary", "accent"):
        value = getattr(kit, name)
        if business and name not in kit.fixed and value is not None:
            value = business.colour(name) or value  # where the design uses it at all
        if value is not None:
            palette[name] = value
    for name in ("primary", "accent"):  # what reads on the colour, and it readable as text
        if name in palette:
            palette[f"on-{name}"] = palette_mod.text_on(palette[name]).upper()
            palette[f"{name}-text"] = palette_mod.ink(palette[name], "#FFFFFF", 3.0).upper()
    for name, value in look.colors.items():
        if name in palette or not _NAME.fullmatch(name):
            problems.append(
                DesignError(
                    f"[colors] {name}: a colour's name is lowercase letters, digits, - and _; "
                    "primary, accent and their on- and -text shades are the brand's",
                    path=where,
                    field=f"colors.{name}",
                    hint="set primary and accent in [brand]" if name in palette else None,
                )
            )
            continue
        palette[name] = value
    return palette


def _kit_font(kit: Kit, key: str, business: Brand | None) -> str | None:
    own: str | None = getattr(kit, key)
    if own is None:
        return None
    theirs = business.font(key.removesuffix("_font")) if business and key not in kit.fixed else None
    return theirs.family if theirs else own


def _resolve_element(
    element: dict[str, Any],
    look: Look,
    palette: Mapping[str, str],
    fonts: Mapping[str, str],
    where: str,
    problems: list[DesignError],
) -> None:
    """The element's style, colours and font role replaced by their values; a name that
    is none is a problem, and a stand-in (the element's default) so the checks go on."""
    ident = str(element.get("id", "?"))
    named = element.get("style")
    if isinstance(named, str) and named not in FACES and named not in look.styles:
        known = sorted(look.styles)
        close = difflib.get_close_matches(named, [*known, *FACES], n=1)
        problems.append(
            DesignError(
                f"unknown style '{named}'",
                path=where,
                element=ident,
                field="style",
                hint=f"did you mean '{close[0]}'?"
                if close
                else f"known: {', '.join([*known, *FACES])}",
            )
        )
        del element["style"]
    elif isinstance(named, str) and named not in FACES:
        style = look.styles[named]
        for key in STYLE_KEYS:
            value = getattr(style, key)
            if value is not None and key not in element and _takes(element, key):
                element[key] = value
        if style.face:
            element["style"] = style.face
        else:
            del element["style"]  # the element's own default face
    font = element.get("font")
    if isinstance(font, str) and font in ROLES:
        if font not in fonts:
            problems.append(
                DesignError(
                    f"font '{font}' is the kit's {ROLES[font]}, which [brand] does not set",
                    path=where,
                    element=ident,
                    field="font",
                    hint=f'set {ROLES[font]} = "Noto Sans" in [brand], or name a family',
                )
            )
        element["font"] = fonts.get(font, STAND_IN_FONT)
    for key in COLOUR_KEYS:
        if isinstance(element.get(key), str):
            try:
                element[key] = _colour(element[key], palette, where, ident, key)
            except DesignError as exc:
                problems.append(exc)
                element[key] = "#000000"


def _takes(element: Mapping[str, Any], key: str) -> bool:
    """Whether an element of this type has the key (a code has no min_size)."""
    if element.get("type") == "code":
        return key in ("font", "size", "color", "align")
    return True


def _colour(
    value: str, palette: Mapping[str, str], where: str, element: str | None, key: str
) -> str:
    if value.startswith("#"):
        return value
    if value in palette:
        return palette[value]
    close = difflib.get_close_matches(value, list(palette), n=1)
    known = ", ".join(palette) or "none: add [colors] or [brand] primary"
    raise DesignError(
        f"unknown colour '{value}'",
        path=where,
        element=element,
        field=key,
        hint=f"did you mean '{close[0]}'?" if close else f"write #RRGGBB or a name ({known})",
    )


def nearest_face(faces: Mapping[str, object], face: str) -> str | None:
    """The face of a font to draw ``face`` in: itself, else the nearest it has."""
    return next((f for f in NEAREST.get(face, (face,)) if f in faces), None)
