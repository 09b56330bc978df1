"""The one sandboxed jinja2 environment that renders a design's text.

Rendered strings are drawn with plain PDF text operators, never parsed as markup, so a
value such as ``<img src=...>`` prints literally. Autoescaping would print ``&lt;``,
so it is off; row values are data in the context and are never evaluated as templates.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from certgen.errors import DesignError

# Names every template may use besides the design's declared fields (``giver_first`` and
# ``recipient_first``: the name's first word, for "Dear Jane,").
BUILTINS = ("code", "code_display", "issued_on", "redeem_url", "giver_first", "recipient_first")


def money(value: Decimal | int | str, currency: str = "$") -> str:
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    text = f"{amount:,.2f}".removesuffix(".00")
    return f"{currency}{text}"


def date(value: dt.date | str, style: str = "long") -> str:
    """``long``: 31 December 2026; ``short``: 2026-12-31."""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return day.isoformat() if style == "short" else f"{day.day} {day:%B %Y}"


def link(website: str) -> str:
    """A website as written on a certificate ("riverside-auto.example") as a link."""
    site = website.strip()
    return site if "://" in site or not site else f"https://{site}"


def tel(phone: str) -> str:
    """A phone number as written ("(555) 010-2030") as a tel: link (RFC 3966)."""
    kept = "".join(c for c in phone if c.isdigit() or c == "+")
    return f"tel:{kept}" if kept else ""


def _make_environment(html: bool = False) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        keep_trailing_newline=False,
    )
    env.filters["money"] = money
    env.filters["date"] = date
    env.filters["link"] = link
    env.filters["tel"] = tel
    return env


ENVIRONMENT = _make_environment()
# An email's HTML body is markup: there, values are escaped.
HTML_ENVIRONMENT = _make_environment(html=True)


@dataclass(frozen=True)
class TextTemplate:
    """A compiled design text, with the variables it reads."""

    source: str
    template: jinja2.Template
    variables: frozenset[str]

    @property
    def is_static(self) -> bool:
        return not self.variables

    def render(self, context: Mapping[str, Any]) -> str:
        return self.template.render(context)


def compile_text(
    source: str,
    *,
    known: set[str],
    path: str,
    element: str | None,
    field: str | None = "text",
    html: bool = False,
) -> TextTemplate:
    """Compile at load time so every design mistake surfaces before anything prints."""
    env = HTML_ENVIRONMENT if html else ENVIRONMENT
    try:
        ast = env.parse(source)
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise DesignError(
            exc.message or "template syntax error",
            path=path,
            element=element,
            field=field,
            line=exc.lineno,
        ) from exc
    variables = frozenset(meta.find_undeclared_variables(ast))
    # jinja binds ``self`` to the template itself; meta does not report it.
    if any(node.name == "self" for node in ast.find_all(nodes.Name)):
        variables |= {"self"}
    for name in sorted(variables - known):
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "declare it under [fields]"
        raise DesignError(
            f"uses undeclared variable '{name}'", path=path, element=element, field=field, hint=hint
        )
    return TextTemplate(source, template, variables)
