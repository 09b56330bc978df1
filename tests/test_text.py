"""The sandboxed jinja environment: one test per known escape route (IN-16 to IN-19)."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

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
    with pytest.raises(text.RenderError, match="unsafe|undefined|not safely callable"):
        template.render({"name": "Bob"})


def test_range_is_capped() -> None:
    with pytest.raises(text.RenderError, match="MAX_RANGE"):
        compile_("{% for i in range(10**9) %}x{% endfor %}").render({"name": ""})


# Each of these once ran unbounded (CPU or memory) or ended in a Python traceback.
RUNAWAY = {
    "nested loops": "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
    "repeat": "{{ 'x' * 10**9 }}",
    "list repeat": "{{ (range(5000)|list) * 5000 }}",
    "power": "{{ 10 ** (10 ** 10) }}",
    "product": "{{ (10 ** 1000) * (10 ** 1000) }}",
    "center filter": "{{ name|center(1000000000) }}",
    "center method": "{{ name.center(10 ** 9) }}",
    "printf width": "{{ '%999999999d' % 1 }}",
    "printf star": "{{ '%*d'|format(1000000000, 1) }}",
    "format width": "{{ '{:>999999999}'.format(1) }}",
    "format nested": "{{ '{:>{}}'.format(1, 10 ** 9) }}",
    "namespace doubling": "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "macro doubling": "{% macro m(s, n) %}{% if n %}{{ m(s ~ s, n - 1) }}{% endif %}{% endmacro %}"
    "{{ m('x', 40) }}",
    "set doubling": "{% set x = 'ab' %}" + "{% set x = x ~ x %}" * 40 + "{{ x|length }}",
    "block doubling": "{% set x %}ab{% endset %}" + "{% set x %}{{ x }}{{ x }}{% endset %}" * 40,
    "recursion": "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "output": "{% for i in range(10000) %}{{ name }}{% endfor %}",
    "division": "{{ 1 / 0 }}",
    "date of a name": "{{ name|date }}",
    "money of a name": "{{ name|money }}",
}


@pytest.mark.parametrize("source", RUNAWAY.values(), ids=RUNAWAY.keys())
def test_a_runaway_or_failing_template_is_a_located_error_at_once(source: str) -> None:
    template = compile_(source)
    started = time.perf_counter()
    with pytest.raises(text.RenderError) as caught:
        template.render({"name": "Bob Ng" * 200})
    assert time.perf_counter() - started < 0.5
    assert caught.value.element == "e" and caught.value.line == 1
    assert "Traceback" not in str(caught.value)


def test_bounds_leave_ordinary_templates_alone() -> None:
    source = (
        "{{ name|upper }} {{ amount|default(50000) }} {{ '{:,}'.format(50000) }} "
        "{{ '%.2f'|format(3.5) }} {{ '%5d' % 42 }} {% for i in range(3) %}{{ loop.index }}"
        "{% endfor %} [{{ 'ab'|center(6) }}] {{ 2 ** 10 }}"
    )
    rendered = compile_(source, {"name", "amount"}).render({"name": "Bob Ng 100%", "amount": None})
    assert rendered == "BOB NG 100% None 50,000 3.50    42 123 [  ab  ] 1024"


@pytest.mark.parametrize("tag", ["{% include 'x' %}", "{% import 'x' as y %}", "{% extends 'x' %}"])
def test_a_template_cannot_reach_other_files(tag: str) -> None:
    with pytest.raises(DesignError, match="cannot include, import or extend"):
        compile_(tag)


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


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("{{ name|money }}", "the money filter needs an amount, not 'Bob Ng'"),
        ("{{ name|date }}", "the date filter needs a date, not 'Bob Ng'"),
    ],
)
def test_a_filter_given_the_wrong_kind_of_value_says_so_in_words(source: str, says: str) -> None:
    with pytest.raises(text.RenderError) as caught:
        compile_(source).render({"name": "Bob Ng"})
    assert says in str(caught.value) and "InvalidOperation" not in str(caught.value)
