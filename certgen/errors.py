"""The exception tree. Locations are attributes; ``__str__`` is written for users."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class CertgenError(Exception):
    """Root of every error certgen reports to a user. ``exit_code`` is the CLI status."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One located problem with the input: what, where, and how to fix it."""

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"{'column' if self.file else 'field'} '{self.column}'")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class InputError(CertgenError):
    """Bad data rows or values; carries every problem found, so all are reported at once."""

    exit_code = 3
    shown = 50

    def __init__(self, problems: Iterable[Problem]):
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        lines = [f"{count} problem{'s' if count != 1 else ''} in the input; nothing was issued:"]
        ordered = sorted(self.problems, key=lambda p: (p.file or "", p.row or 0))
        lines += [f"  {p}" for p in ordered[: self.shown]]
        if count > self.shown:
            lines.append(f"  ... and {count - self.shown} more")
        return "\n".join(lines)


class DesignError(CertgenError):
    """A design folder that cannot be used, located by file, element and field."""

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        element: str | None = None,
        field: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ):
        self.message, self.path, self.element = message, path, element
        self.field, self.line, self.hint = field, line, hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.path or "design"]
        if self.element:
            where.append(f"element '{self.element}'")
        if self.field:
            where.append(f"'{self.field}'")
        if self.line is not None:
            where.append(f"template line {self.line}")
        text = f"{', '.join(where)}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(CertgenError):
    """A setting that cannot be used."""

    exit_code = 1


class OutputError(CertgenError):
    """The PDF cannot be written where it was asked for."""

    exit_code = 1


class LedgerError(CertgenError):
    """The ledger cannot be opened, read or written."""

    exit_code = 5


class DeliveryError(CertgenError):
    """Emails of a send run that were not delivered: refused for good, or still to send."""

    exit_code = 13
    shown = 50

    def __init__(
        self,
        count: int,
        rejected: Sequence[Problem],
        deferred: Sequence[Problem],
        stopped: str | None,
        resume: str,
    ):
        self.count, self.rejected, self.deferred = count, rejected, deferred
        self.stopped, self.resume = stopped, resume
        super().__init__(str(self))

    def __str__(self) -> str:
        failed = len(self.rejected) + len(self.deferred)
        lines = [f"{failed} of {self.count} emails were not delivered"]
        if self.stopped:
            lines[0] += f"; the run stopped: {self.stopped}"
        for title, problems in (("refused", self.rejected), ("not sent yet", self.deferred)):
            if problems:
                lines.append(f"{len(problems)} {title}:")
                lines += [f"  {p}" for p in problems[: self.shown]]
                if len(problems) > self.shown:
                    lines.append(f"  ... and {len(problems) - self.shown} more")
        if self.deferred:
            lines.append(f"{self.resume} sends the ones not sent yet")
        if self.rejected:
            lines.append("correct the refused addresses and send those rows in a new run")
        return "\n".join(lines)


class RepeatedRunError(CertgenError):
    """The same list, with the same design, was issued or sent before: a second run would
    give its people a second set of codes."""

    exit_code = 15


class RunMismatchError(CertgenError):
    """A run given by id (a reprint, ``--resume``, a rerun) with input or options that are
    not the ones it was made with: finishing or printing it so would mix two runs."""

    exit_code = 3


class BusyError(CertgenError):
    """Another run holds what this one would write: the same output file, or the same run."""

    exit_code = 16


class NotFoundError(CertgenError):
    """A code or a run that is not in the ledger."""

    exit_code = 6
