"""The sandboxed jinja environment: one test per known escape route (IN-16 to IN-19)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import jinja2
import pytest
from jinja2.sandbox import SecurityError

from certgen import text
from certgen.errors import DesignError


def compile_(source: str, known: set[str] | None = None) -> text.TextTemplate:
    known = known or {"name", *text.BUILTINS}
    return text.compile_text(source, known=known, path="design.toml", element="e")


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ name.__class__.__init__.__globals__ }}",
        "{{ (name|attr('__class__')).__subclasses__() }}",
        "{{ '{0.__class__}'.format(name) }}",
        "{{ '{n.__class__.__mro__}'.format_map({'n': name}) }}",
        # CVE-2024-56326: str.format reached indirectly.
        "{% set f = '{0.__class__.__mro__}'.format %}{{ f(name) }}",
        # CVE-2025-27516: the attr filter reaching format.
        "{{ ('{0.__class__.__mro__}'|attr('format'))(name) }}",
    ],
)
def test_sandbox_blocks_escapes(source: str) -> None:
    template = compile_(source)
    with pytest.raises((SecurityError, jinja2.UndefinedError)):
        template.render({"name": "Bob"})


def test_range_is_capped() -> None:
    with pytest.raises(OverflowError):
        compile_("{% for i in range(10**9) %}x{% endfor %}").render({"name": ""})


def test_values_are_data_never_templates() -> None:
    rendered = compile_("{{ name }}").render({"name": "{{ 7*7 }} <img src='/etc/passwd'>"})
    assert rendered == "{{ 7*7 }} <img src='/etc/passwd'>"


def test_undeclared_variable_is_a_design_error_with_a_suggestion() -> None:
    with pytest.raises(DesignError) as caught:
        compile_("Hello {{ nmae }}")
    assert "undeclared variable 'nmae'" in str(caught.value)
    assert "did you mean 'name'?" in str(caught.value)
    assert caught.value.element == "e"


def test_context_has_only_what_is_declared() -> None:
    for name in ("config", "self", "request", "ledger", "os"):
        with pytest.raises(DesignError, match="undeclared"):
            compile_(f"{{{{ {name} }}}}")


def test_syntax_error_names_the_template_line() -> None:
    with pytest.raises(DesignError) as caught:
        compile_("line one\n{{ name ")
    assert caught.value.line == 2
    assert "template line 2" in str(caught.value)


def test_filters() -> None:
    assert text.money(Decimal("150")) == "$150"
    assert text.money(Decimal("1234.5")) == "$1,234.50"
    assert text.date(dt.date(2027, 3, 31)) == "31 March 2027"
    assert text.date(dt.date(2027, 3, 31), "short") == "2027-03-31"


def test_static_and_builtin_names() -> None:
    assert compile_("Gift Certificate").is_static
    template = compile_("{{ code_display }}")
    assert not template.is_static and template.variables == {"code_display"}
