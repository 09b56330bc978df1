"""Which column fills which field: a profile's templates, ``--map``, and columns matched by
name, with the business's own fields kept out of every row's reach.

A mapping is built once from the header row and then reads each record: a field comes from
one column or from a template over the columns (the same sandboxed jinja2 environment as the
designs; each column is a variable named by ``tables.identifier``, and ``column["Header"]``
reads any column by its header). Columns that map to nothing are left out and named in one
note; one that looks like a mistyped field name is an error with a suggestion; one that
would fill a field of the business (its name, phone, address, ...) is an error, since a
customer's phone must never print as the shop's.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import jinja2
from jinja2 import nodes

from certgen import text as text_mod
from certgen.design import FieldSpec
from certgen.errors import DesignError, Problem
from certgen.profiles import People, Profile, person_fields
from certgen.tables import identifier

# Header spellings people use for the standard referral fields (field -> aliases).
STANDARD_ALIASES = {
    "recipient": ("to", "recipient_name", "friend", "for"),
    "giver": ("from", "referrer", "referred_by", "giver_name", "customer"),
    "expires": ("expiry", "expires_on", "expiration", "valid_until"),
    "giver_email": ("from_email", "referrer_email", "giver_email_address", "customer_email"),
    "locale": ("language", "lang", "preferred_language", "friend_language"),
}
# The columns a rejects file adds (certgen writes them; reading the file back skips them).
REJECT_COLUMNS = ("certgen_row", "certgen_problem")
Getter = Callable[[list[str]], str]
# The customer's own field to suggest for a column that would fill a business field.
_CUSTOMER_FIELDS = (("phone", "giver_phone"), ("mail", "giver_email"), ("address", "street"))


class TemplateFailed(ValueError):
    """A template that cannot be rendered with one row's values (the sandbox refused it, a
    filter failed): a problem of that row."""


@dataclass(frozen=True)
class Entry:
    """One field of a mapping: how its value is read, and the headers it reads."""

    read: Getter
    headers: tuple[str, ...]


@dataclass(frozen=True)
class ColumnMap:
    """Field -> how each record gives its value; ``left_out`` the headers that fill none."""

    entries: dict[str, Entry]
    left_out: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def given(self, record: list[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """The record's value for each field, and (field, why) for templates that failed."""
        values, failed = {}, []
        for name, entry in self.entries.items():
            try:
                values[name] = entry.read(record)
            except TemplateFailed as exc:
                failed.append((name, str(exc)))
        return values, failed

    def columns(self) -> dict[str, str]:
        """Field -> how the user names its source in messages (its header, or headers)."""
        return {name: " + ".join(e.headers) or name for name, e in self.entries.items()}


def build(
    headers: list[str],
    fields: Mapping[str, FieldSpec],
    *,
    file: str,
    protected: Mapping[str, str],
    maps: Iterable[tuple[str, str]] = (),
    ignore: Iterable[str] = (),
    profile: Profile | None = None,
    people: People | None = None,
    strict: bool = False,
) -> tuple[ColumnMap, list[Problem]]:
    """The mapping of this header row onto ``fields``, and every problem with it.

    ``protected`` names the fields no row may fill (field -> whose it is: "the business's").
    ``maps`` are ``--map`` options: ``HEADER=FIELD``, or ``FIELD=TEMPLATE`` when the value
    holds ``{{``; they win over the ``profile``'s templates for the same field."""
    builder = _Builder(headers, fields, file, protected)
    builder.ignore([*ignore, *(profile.ignore if profile else ())])  # as if not there
    for left, right in maps:
        if "{{" in right or "{%" in right:
            builder.template(left.strip(), right, "--map", optional=False)
        else:
            builder.column(left, right.strip())
    if profile is not None:
        who = people or profile.people
        wanted = {person_fields(who)[part]: t for part, t in profile.person.items()}
        if "email" in profile.person and "email" in fields:  # send: the row's own address
            wanted.setdefault("email", profile.person["email"])
        wanted.update(profile.map)
        for name, templates in wanted.items():
            builder.template(name, templates, "the profile", optional=True)
    builder.match_the_rest(strict)
    return builder.result()


class _Builder:
    def __init__(
        self,
        headers: list[str],
        fields: Mapping[str, FieldSpec],
        file: str,
        protected: Mapping[str, str],
    ):
        self.headers, self.fields, self.file, self.protected = headers, fields, file, protected
        self.index: dict[str, int] = {}  # identifier -> the first column with it
        for i, header in enumerate(headers):
            self.index.setdefault(identifier(header), i)
        self.by_header = {_key(h): i for i, h in reversed(list(enumerate(headers)))}
        self.lookup = _lookup(fields)
        self.entries: dict[str, Entry] = {}
        self.explicit: set[str] = set()  # fields --map or the profile fill
        self.used: set[int] = set()  # columns read by an entry or left out on purpose
        self.problems: list[Problem] = []
        self.left_out: list[str] = []

    def result(self) -> tuple[ColumnMap, list[Problem]]:
        notes: tuple[str, ...] = ()
        if self.left_out:
            names = ", ".join(f"'{h}'" for h in self.left_out)
            count = len(self.left_out)
            verbs = "s fill no field and were" if count != 1 else " fills no field and was"
            notes = (
                f"{self.file}: {count} column{verbs} left out: {names} (--strict-columns "
                "makes that an error; --map 'FIELD={{ column }}' uses one)",
            )
        return ColumnMap(self.entries, tuple(self.left_out), notes), self.problems

    def _target(self, name: str, how: str, header: str | None) -> str | None:
        """The field ``name`` names (through aliases), or None with a problem."""
        target = self.lookup.get(_key(name))
        column = header or name
        if target is None:
            close = difflib.get_close_matches(_key(name), list(self.fields), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"fields: {', '.join(self.fields)}"
            message = f"{how}: unknown field '{name}'"
            self.problems.append(Problem(message, self.file, 1, None, hint))
            return None
        if target in self.protected:
            self.problems.append(self._protected(column, target, how))
            return None
        if target in self.explicit:
            message = f"{how}: '{target}' is mapped twice"
            self.problems.append(Problem(message, self.file, 1, header, "keep one --map for it"))
            return None
        return target

    def _protected(self, column: str, target: str, how: str | None) -> Problem:
        """A column, or a --map or profile template, that would fill a business field."""
        message = (
            f"{how + ' fills' if how else 'would fill'} '{target}', {self.protected[target]}, "
            "which prints the same on every certificate and never comes from a row"
        )
        customer = next((f for part, f in _CUSTOMER_FIELDS if part in target), "giver_phone")
        hint = (
            f"map it to a customer field (--map '{column}={customer}'), or leave it out with "
            f"--ignore '{column}'; the business's own {target} is set in certgen.toml "
            f'([defaults] {target} = "...") or with --set {target}=...'
        )
        return Problem(message, self.file, 1, column, hint)

    def column(self, header: str, name: str) -> None:
        """``--map HEADER=FIELD``."""
        index = self.by_header.get(_key(header))
        if index is None:
            close = difflib.get_close_matches(header, self.headers, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "check the header row"
            self.problems.append(Problem(f"--map: no column '{header}'", self.file, 1, None, hint))
            return
        target = self._target(name, "--map", self.headers[index])
        if target is None:
            return
        self.explicit.add(target)
        self.used.add(index)
        self.entries[target] = Entry(_cell(index), (self.headers[index],))

    def template(self, name: str, templates: str | list[str], how: str, optional: bool) -> None:
        """A field built by a template: the first of ``templates`` whose columns exist. An
        ``optional`` one (a profile's) gives way to --map, and to columns that are missing."""
        if optional and self.lookup.get(_key(name)) in self.explicit:
            return
        choices = [templates] if isinstance(templates, str) else templates
        compiled = [self._compile(source, name, how) for source in choices]
        if any(c is None for c in compiled):
            return
        fitting = [
            c for c in compiled if c is not None and c.variables - {"column"} <= set(self.index)
        ]
        if not fitting:
            if not optional:
                self._missing(compiled[0], how)  # type: ignore[arg-type]
            return
        chosen = fitting[0]
        target = self._target(name, how, None)
        if target is None:
            return
        self.explicit.add(target)
        read = sorted({self.index[v] for v in chosen.variables if v != "column"})
        self.used.update(read)
        if "column" in chosen.variables:
            read = list(range(len(self.headers)))
        self.entries[target] = Entry(
            _render(chosen, self.index, self.headers), tuple(self.headers[i] for i in read)
        )

    def _compile(self, source: str, name: str, how: str) -> text_mod.TextTemplate | None:
        known = {*self.index, "column"}
        try:
            return text_mod.compile_text(
                source, known=known | _all_names(source), path=how, element=None, field=name
            )
        except DesignError as exc:
            message = f"{how}: the template for '{name}' cannot be read: {exc.message}"
            self.problems.append(Problem(message, self.file, 1, None, exc.hint))
            return None

    def _missing(self, compiled: text_mod.TextTemplate, how: str) -> None:
        for name in sorted(compiled.variables - set(self.index) - {"column"}):
            close = difflib.get_close_matches(name, list(self.index), n=1)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else f"columns: {', '.join(sorted(self.index))}"
            )
            message = f"{how}: '{name}' is not a column of this file"
            self.problems.append(Problem(message, self.file, 1, None, hint))

    def ignore(self, headers: Iterable[str]) -> None:
        """Columns left out on purpose: no template reads them, and no note names them."""
        wanted = {_key(h) for h in headers}
        left_out = {i for i, h in enumerate(self.headers) if _key(h) in wanted}
        self.used |= left_out
        self.index = {key: i for key, i in self.index.items() if i not in left_out}

    def match_the_rest(self, strict: bool) -> None:
        """Columns no template reads: by name or alias, else left out (a note), else, with
        ``strict`` or when the name looks like a typo of a field's, a problem."""
        seen: dict[str, str] = {}
        for index, header in enumerate(self.headers):
            if index in self.used or is_reject_column(header):
                continue
            target = self.lookup.get(_key(header))
            if not header.strip():
                if strict:
                    self.problems.append(
                        Problem("a column has no header", self.file, 1, f"#{index + 1}")
                    )
                else:
                    self.left_out.append(f"#{index + 1} (no header)")
            elif target is not None and target in self.protected:
                self.problems.append(self._protected(header, target, None))
            elif target in self.explicit:
                self.left_out.append(header)
            elif target in seen:
                message = f"maps to '{target}', as column '{seen[target]}' does"
                hint = "remove one of them, or leave one out with --ignore"
                self.problems.append(Problem(message, self.file, 1, header, hint))
            elif target is not None:
                seen[target] = header
                self.entries[target] = Entry(_cell(index), (header,))
            else:
                typo = _typo(header, self.lookup)
                if typo or strict:
                    self.problems.append(_unknown(header, typo, self.fields, self.file))
                else:
                    self.left_out.append(header)


def is_reject_column(header: str) -> bool:
    return _key(header) in REJECT_COLUMNS


def field_named(name: str, fields: Mapping[str, FieldSpec]) -> str | None:
    """The field ``name`` names, as a header would (``zip`` for ``postal_code``)."""
    return _lookup(fields).get(_key(name))


def _unknown(header: str, typo: str | None, fields: Mapping[str, FieldSpec], file: str) -> Problem:
    target = typo or "FIELD"
    hint = f"map it with --map '{header}={target}' or leave it out with --ignore '{header}'"
    hint = f"did you mean '{typo}'? {hint}" if typo else f"{hint}; fields: {', '.join(fields)}"
    return Problem("unknown column", file, 1, header, hint)


def _typo(header: str, lookup: Mapping[str, str]) -> str | None:
    """The field a header looks like a mistyping of: within about one edit in five of a
    field's name or alias, of nearly the same length (``Recipent``, not ``Country Code``)."""
    key = _key(header)
    for spelling, name in lookup.items():
        if (
            abs(len(spelling) - len(key)) <= 2
            and difflib.SequenceMatcher(None, key, spelling).ratio() >= 0.8
        ):
            return name
    return None


def _key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().casefold())


def _lookup(fields: Mapping[str, FieldSpec]) -> dict[str, str]:
    """Header spelling (``_key``) -> field: each field's name, then its aliases."""
    lookup = {_key(name): name for name in fields}
    for name, spec in fields.items():
        for alias in (*STANDARD_ALIASES.get(name, ()), *spec.aliases):
            lookup.setdefault(_key(alias), name)
    return lookup


def _cell(index: int) -> Getter:
    return lambda record: record[index]


def _all_names(source: str) -> set[str]:
    """Every name a template reads: checked against the columns after compiling, so that
    a profile's template for a column this file lacks is skipped rather than an error."""
    try:
        ast = text_mod.ENVIRONMENT.parse(source)
    except jinja2.TemplateSyntaxError:
        return set()
    return {node.name for node in ast.find_all(nodes.Name)}


def _render(
    template: text_mod.TextTemplate, index: Mapping[str, int], headers: list[str]
) -> Getter:
    """A getter that renders ``template`` over a record (``index``: variable -> column):
    each line's spaces folded and trimmed, so that "{{ first }} {{ middle }} {{ last }}" has
    no double space where a part is empty. Templates that only join columns and text skip
    jinja."""
    parts = _plain_parts(template, index)
    if parts is not None and len(parts) == 1 and isinstance(parts[0], int):
        return _cell(parts[0])  # "{{ zip }}": the cell itself
    if parts is not None:
        plain = parts

        def join(record: list[str]) -> str:
            return _tidy("".join(_part(p, record) for p in plain))

        return join
    wanted = [(index[v], v) for v in template.variables if v in index]
    whole = "column" in template.variables

    def render(record: list[str]) -> str:
        values: dict[str, object] = {name: record[i] for i, name in wanted}
        if whole:
            values["column"] = dict(zip(headers, record, strict=False))
        try:
            return _tidy(template.render(values))
        except text_mod.RenderError as exc:
            raise TemplateFailed(exc.message) from None

    return render


Part = str | int | tuple[int, ...]  # literal text, a column, the first of columns not empty


def _plain_parts(template: text_mod.TextTemplate, index: Mapping[str, int]) -> list[Part] | None:
    """The template as literal text, columns and ``a or b`` of columns, if that is all it
    is (as nearly every profile's is): read without jinja, which costs a row ten times as
    much."""
    ast = text_mod.ENVIRONMENT.parse(template.source)
    parts: list[Part] = []
    for node in ast.body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append(child.data)
                continue
            columns = _columns_or(child, index)
            if columns is None:
                return None
            parts.append(columns[0] if len(columns) == 1 else columns)
    return parts


def _columns_or(node: nodes.Node, index: Mapping[str, int]) -> tuple[int, ...] | None:
    """``a`` or ``a or b or ...`` of columns, as their indexes."""
    if isinstance(node, nodes.Name) and node.name in index:
        return (index[node.name],)
    if isinstance(node, nodes.Or):
        left, right = _columns_or(node.left, index), _columns_or(node.right, index)
        return left + right if left is not None and right is not None else None
    return None


def _part(part: Part, record: list[str]) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, int):
        return record[part]
    return next((record[i] for i in part if record[i]), "")


_SPACES = re.compile(r"[ \t]+")


def _tidy(text: str) -> str:
    if "\n" not in text and "  " not in text and "\t" not in text:
        return text.strip()
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
