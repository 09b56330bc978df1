"""jinja2's immutable sandbox, bounded: a design's template cannot hang or exhaust the machine.

The sandbox limits what a template can reach, not how much it does, so every render here
gets a budget (``budget``): each loop iteration, call and filter is a step (``MAX_STEPS``),
the strings and lists it makes add up (``MAX_MADE`` characters), and its output may not
pass ``MAX_OUTPUT``. Operators that can make much from little (``*``, ``**``, ``%``,
``+``) and numeric arguments (``center(10**9)``, ``"%999999999d"``) are checked before
they act, so nothing large is ever allocated. Past a limit, ``LimitExceeded``.
"""

from __future__ import annotations

import contextvars
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from jinja2 import nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

MAX_STEPS = 10_000  # loop iterations, calls and filters in one render
MAX_MADE = 1_000_000  # characters (or items) made by operators, calls and filters
MAX_OUTPUT = 1_000_000  # characters of output (an email's HTML is the largest)
MAX_NUMBER = 10_000  # a number given to a filter or method (widths, counts)
MAX_BITS = 4_096  # an integer result (10**1233)
# A printf or str.format width or precision of five digits or more, or one given as an
# argument ("%*d", "{:{}}"), which could be any size.
_WIDE = re.compile(
    r"%(?:\([^)]*\))?[-+ #0]*(?:\*|\d{5}|\d*\.(?:\*|\d{5}))"
    r"|\{[^{}]*:[^{}]*(?:\d{5}|\{)"
)
# Filters whose numeric arguments say how much they make.
_SIZED_FILTERS = frozenset({"center", "indent", "wordwrap", "truncate", "batch", "slice", "round"})
# str methods that take a width or count (zfill, center, ljust, rjust, expandtabs, ...).
_STR_FORMATTERS = frozenset({"format", "format_map"})


class LimitExceeded(Exception):
    """A template went past one of the limits; the message says which."""


class _Budget:
    __slots__ = ("steps", "made")

    def __init__(self) -> None:
        self.steps = 0
        self.made = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise LimitExceeded(f"more than {MAX_STEPS:,} steps (loops, calls and filters)")

    def make(self, value: object) -> object:
        if isinstance(value, str | list | tuple | dict):
            self.made += len(value)
            if self.made > MAX_MADE:
                raise LimitExceeded(f"it made more than {MAX_MADE:,} characters")
        elif isinstance(value, int) and value.bit_length() > MAX_BITS:
            raise LimitExceeded("a number larger than 10**1233")
        return value


_BUDGET: contextvars.ContextVar[_Budget] = contextvars.ContextVar("certgen_template_budget")


def _budget() -> _Budget:
    # Outside ``render`` (jinja folding constants at compile time), a throwaway budget.
    return _BUDGET.get(None) or _Budget()


@contextmanager
def budget() -> Iterator[None]:
    """A fresh budget for one render."""
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)


def render(template: Any, context: Mapping[str, Any]) -> str:
    """``template`` (a compiled jinja2 Template) over ``context``, within a fresh budget; the
    output is counted as it streams, so a runaway loop stops at the limit."""
    with budget():
        parts: list[str] = []
        size = 0
        for part in template.generate(context):
            size += len(part)
            if size > MAX_OUTPUT:
                raise LimitExceeded(f"its output passed {MAX_OUTPUT:,} characters")
            parts.append(part)
        return "".join(parts)


def _check_number(value: object) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise LimitExceeded(f"a number over {MAX_NUMBER:,}")


def _check_format(value: object) -> None:
    if isinstance(value, str) and _WIDE.search(value):
        raise LimitExceeded("a format width or precision over 9,999")


def _size(value: object) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def _check_binop(op: str, left: Any, right: Any) -> None:
    if op == "*":
        for seq, times in ((left, right), (right, left)):
            if _size(seq) and isinstance(times, int) and _size(seq) * times > MAX_MADE:
                raise LimitExceeded(f"it made more than {MAX_MADE:,} characters")
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_BITS:
                raise LimitExceeded("a number larger than 10**1233")
    elif op == "**":
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            if right * max(1, abs(left).bit_length() - 1) > MAX_BITS:
                raise LimitExceeded("a number larger than 10**1233")
        if isinstance(right, float | int) and abs(right) > MAX_BITS:
            raise LimitExceeded("a power over 4,096")
    elif op == "%":
        _check_format(left)
    elif op == "+" and _size(left) + _size(right) > MAX_MADE:
        raise LimitExceeded(f"it made more than {MAX_MADE:,} characters")


class _BoundedNamespace(Namespace):
    """``namespace()``, whose values count against the budget: a loop that doubles a string
    held in a namespace stops at the limit, not at the end of memory."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, _budget().make(value))


def _made(value: Any) -> Any:
    """Every printed expression and every ``~`` passes this: what it makes is counted, so
    ``{% set x %}{{ x }}{{ x }}{% endset %}`` repeated cannot double its way past memory."""
    return _budget().make(value)


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every ``{% for %}`` iterates through this: each iteration is a step."""
    counter = _budget()
    for item in iterable:
        counter.step()
        yield item


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    sized = name in _SIZED_FILTERS
    passes = hasattr(function, "jinja_pass_arg")  # its first argument is jinja's, not a value

    def bounded(*args: Any, **kwargs: Any) -> Any:
        counter = _budget()
        counter.step()
        if sized:
            for value in (*args[1 + passes :], *kwargs.values()):
                _check_number(value)
        if name == "format" and len(args) > passes:
            _check_format(args[passes])
        return counter.make(function(*args, **kwargs))

    # jinja passes the environment or context to filters marked for it.
    if hasattr(function, "jinja_pass_arg"):
        bounded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
    bounded.__name__ = getattr(function, "__name__", "filter")
    return bounded


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with every loop, call, filter and growing operator bounded."""

    intercepted_binops = frozenset({"*", "**", "%", "+", "/", "//"})

    def __init__(self, **options: Any):
        super().__init__(**options)
        # lipsum(n=10**9) has no bound; nothing a certificate says needs it.
        self.globals.pop("lipsum", None)
        self.globals["namespace"] = _BoundedNamespace

    def bound_filters(self, added: Mapping[str, Callable[..., Any]]) -> None:
        """Add ``added`` and wrap every filter, jinja's and these, in the budget."""
        for name, function in {**self.filters, **added}.items():
            self.filters[name] = _bounded_filter(name, function)
        self.filters["_counted"] = _counted
        self.filters["_made"] = _made

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = _wrap(loop.iter, "_counted")  # type: ignore[arg-type]
        for concat in list(tree.find_all(nodes.Concat)):
            concat.nodes = [_wrap(part, "_made") for part in concat.nodes]
        for output in tree.find_all(nodes.Output):
            output.nodes = [_wrap(part, "_made") for part in output.nodes]
        return tree

    def call_binop(self, context: Context, operator_name: str, left: Any, right: Any) -> Any:
        _budget().step()
        _check_binop(operator_name, left, right)
        return _budget().make(_BINOPS[operator_name](left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        counter = _budget()
        counter.step()
        for value in (*args, *kwargs.values()):
            # A macro's argument may not grow without bound either (recursion doubling it).
            if _size(value) > MAX_MADE:
                raise LimitExceeded(f"it made more than {MAX_MADE:,} characters")
            if isinstance(getattr(__obj, "__self__", None), str):
                if getattr(__obj, "__name__", "") not in _STR_FORMATTERS:
                    _check_number(value)  # "x".center(10**9)
        return counter.make(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        _check_format(getattr(value, "__self__", None))  # "{:>999999999}".format(1)
        return super().wrap_str_format(value)


def _wrap(node: nodes.Expr, name: str) -> nodes.Expr:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul,
    "**": operator.pow,
    "%": operator.mod,
    "+": operator.add,
    "/": operator.truediv,
    "//": operator.floordiv,
}
