"""The one sandboxed jinja2 environment that renders a design's text.

Rendered strings are drawn with plain PDF text operators, never parsed as markup, so a
value such as ``<img src=...>`` prints literally. Autoescaping would print ``&lt;``,
so it is off; row values are data in the context and are never evaluated as templates.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import marshal
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes

from certgen import cache, lang, sandbox
from certgen.errors import DesignError

# Names every template may use besides the design's declared fields (``giver_first`` and
# ``recipient_first``: the name's first word, for "Dear Jane,").
# ``lang``: the certificate's language (``certgen.lang``), which ``_`` and the filters read.
BUILTINS = (
    "code", "code_display", "issued_on", "redeem_url", "giver_first", "recipient_first",
    "lang", "_",
)  # fmt: skip
LOCALE_NAMES = frozenset({"lang", "_"})  # what a fixed text in the design's words reads
LOCALE_FILTERS = frozenset({"date", "money"})  # filters that write in the locale's way


def money(value: Decimal | int | str, currency: str = "$", locale: str | None = None) -> str:
    """$1,200.50 in English; another locale's marks (1.200,50 $), or an ISO code through
    CLDR (1.200,50 €)."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:  # decimal's InvalidOperation: not a number, or not finite
        raise ValueError(f"the money filter needs an amount, not '{str(value)[:40]}'") from None
    return lang.money(amount, currency, locale)


def date(value: dt.date | str, style: str = "long", locale: str | None = None) -> str:
    """``long``: 31 December 2026 (in another locale, its own long form); ``short``:
    2026-12-31."""
    if not isinstance(value, dt.date | str):
        raise ValueError(f"the date filter needs a date, not {type(value).__name__}")
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"the date filter needs a date, not '{value[:40]}'") from None
    return day.isoformat() if style == "short" else lang.long_date(day, locale)


# The filters and ``_`` as templates call them: in the certificate's language.
@jinja2.pass_context
def _money_filter(context: Any, value: Decimal | int | str, currency: str = "$") -> str:
    return money(value, currency, context.get("lang"))


@jinja2.pass_context
def _date_filter(context: Any, value: dt.date | str, style: str = "long") -> str:
    return date(value, style, context.get("lang"))


@jinja2.pass_context
def _translated(context: Any, message: str, **values: Any) -> str:
    if not isinstance(message, str):
        raise ValueError("_() takes the words to print, in quotes")
    return lang.translate(context.get("lang"), message, values)


def link(website: str) -> str:
    """A website as written on a certificate ("riverside-auto.example") as a link."""
    site = website.strip()
    return site if "://" in site or not site else f"https://{site}"


def tel(phone: str) -> str:
    """A phone number as written ("(555) 010-2030") as a tel: link (RFC 3966)."""
    kept = "".join(c for c in phone if c.isdigit() or c == "+")
    return f"tel:{kept}" if kept else ""


def _make_environment(html: bool = False) -> sandbox.BoundedEnvironment:
    env = sandbox.BoundedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        keep_trailing_newline=False,
    )
    env.bound_filters({"money": _money_filter, "date": _date_filter, "link": link, "tel": tel})
    env.globals["_"] = _translated
    return env


ENVIRONMENT = _make_environment()
# An email's HTML body is markup: there, values are escaped.
HTML_ENVIRONMENT = _make_environment(html=True)


class RenderError(DesignError):
    """A design text failed on the values it was given (``{{ 1/0 }}``, a date filter on a
    name, a limit of ``sandbox``): located at the template, its message is the cause."""


@dataclass(frozen=True)
class TextTemplate:
    """A compiled design text, with the variables it reads and where it was written."""

    source: str
    template: jinja2.Template
    variables: frozenset[str]
    path: str | None = None
    element: str | None = None
    field: str | None = None

    @property
    def is_static(self) -> bool:
        """The same on every certificate of a run in one language."""
        return not self.variables - LOCALE_NAMES

    def render(self, context: Mapping[str, Any]) -> str:
        """The text over ``context``, bounded (``sandbox``); any failure is a RenderError."""
        try:
            return sandbox.render(self.template, context)
        except Exception as exc:  # a template can raise anything its values allow
            line = _template_line(exc)
            message = str(exc) if isinstance(exc, jinja2.TemplateError) else _cause(exc)
            raise RenderError(
                message, path=self.path, element=self.element, field=self.field, line=line
            ) from None


def _cause(exc: Exception) -> str:
    if isinstance(exc, sandbox.LimitExceeded):
        return f"the template went past a limit: {exc}"
    if isinstance(exc, RecursionError):
        return "the template calls itself without end"
    if isinstance(exc, ZeroDivisionError):
        return "the template divides by zero"
    if isinstance(exc, ValueError) and str(exc):  # a filter's own words ("needs a date")
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _template_line(exc: BaseException) -> int | None:
    """The template's line from jinja's rewritten traceback, if there is one."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@functools.cache
def _code_digest() -> str:
    """What the compiled code depends on besides jinja2: this module and the sandbox, which
    rewrites every template's tree (so a changed certgen never meets old code)."""
    return cache.file_digest(
        Path(__file__).read_bytes() + Path(sandbox.__file__).read_bytes()
    ).hex()


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

    def build() -> bytes:
        ast = env.parse(source)  # the sandbox's rewritten tree, compiled from below
        for node in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            raise DesignError(
                "a design's text cannot include, import or extend another template",
                path=path,
                element=element,
                field=field,
                line=node.lineno,
                hint="write the text in place; a macro can repeat a part",
            )
        variables = set(meta.find_undeclared_variables(ast))
        # jinja binds ``self`` to the template itself, and finds ``_`` among the globals;
        # meta reports neither.
        named = {node.name for node in ast.find_all(nodes.Name)}
        variables |= named & {"self", *LOCALE_NAMES}
        # What prints in the certificate's language reads ``lang`` (a text is laid out once
        # for each set of the values it reads).
        filters = {node.name for node in ast.find_all(nodes.Filter)}
        implied = set()
        if "_" in variables or filters & LOCALE_FILTERS:
            implied = {"lang"} - variables
            variables |= {"lang"}
        # ``_`` is a global and an implied ``lang`` is read by it and the filters, never
        # by the text: neither has to be a name the template's reader declares.
        unchecked = sorted(implied | {"_"})
        return marshal.dumps((env.compile(ast), sorted(variables), unchecked))

    parts = ("jinja2", jinja2.__version__, "html" if html else "text", _code_digest(), source)
    try:
        # A template's code, as a .pyc holds a module's: written by certgen, digest-checked,
        # in the app folder (docs/security.md).
        code, names, unchecked = marshal.loads(cache.fetch("templates", parts, build))  # noqa: S302
    except jinja2.TemplateSyntaxError as exc:
        raise DesignError(
            exc.message or "template syntax error",
            path=path,
            element=element,
            field=field,
            line=exc.lineno,
        ) from exc
    variables = frozenset(names)
    for name in sorted(variables - known - set(unchecked)):
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "declare it under [fields]"
        raise DesignError(
            f"uses undeclared variable '{name}'", path=path, element=element, field=field, hint=hint
        )
    template = env.template_class.from_code(env, code, env.make_globals(None), None)
    return TextTemplate(source, template, variables, path, element, field)
