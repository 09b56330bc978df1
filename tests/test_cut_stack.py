"""Cut-and-stack imposition: a guillotine is simulated on the PDF itself (each sheet's slots
read from the positions of the names printed on it, the stack cut into one pile a slot,
the piles put on each other) and must give back the list's order."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certgen import sheets
from tests.helpers import TEST_DESIGNS, load, page_count, words
from tests.test_cli import invoke

TEN_UP = "width_mm = 320\nheight_mm = 560\ncolumns = 2\nrows = 5\ngutter_mm = 4\n"


def write_list(count: int) -> list[str]:
    names = [f"Zed{i:03d}" for i in range(count)]
    lines = ["to,from,postal_code", *(f"{n},Giver,{10000 + i}" for i, n in enumerate(names))]
    Path("list.csv").write_text("\n".join(lines) + "\n")
    return names


def guillotine(pdf: Path, sheet: sheets.Sheet) -> list[str]:
    """The names in the order a cut stack gives them: each sheet's slot found by where its
    name is printed, one pile a slot (sheet 1 on top), the first slot's pile on top."""
    piles: list[list[str]] = [[] for _ in sheet.slots]
    for page in range(page_count(pdf)):
        for word in words(pdf, page):
            if not re.fullmatch(r"Zed\d{3}", word.text):
                continue
            [slot] = [
                n
                for n, (left, top, right, bottom) in enumerate(sheet.trims())
                if left <= word.x0
                and word.x1 <= right
                and top <= word.top
                and word.bottom <= bottom
            ]
            piles[slot].append(word.text)
    return [name for pile in piles for name in pile]


@pytest.mark.parametrize(
    ("design", "sheet_name", "count", "split"),
    [
        ("compact", "letter-3up", 7, None),  # a last sheet with one of three
        ("compact", "letter-3up", 9, None),  # whole sheets
        (str(TEST_DESIGNS / "tiny"), "ten-up.toml", 23, None),  # 10-up, three on the last
        (str(TEST_DESIGNS / "tiny"), "ten-up.toml", 23, 12),  # a stack a file
    ],
)
def test_the_cut_stack_is_in_the_lists_order(
    env: Path, design: str, sheet_name: str, count: int, split: int | None
) -> None:
    Path("ten-up.toml").write_text(TEN_UP)
    names = write_list(count)
    more = ["--split", str(split)] if split else []
    status, out, err = invoke(
        "issue", "list.csv", "-d", design, "--set", "business=Northside Physio",
        "--sheet", sheet_name, "--order", "cut-stack", "-o", "run.pdf", *more,
    )  # fmt: skip
    assert status == 0, err
    files = sorted(Path().glob("run-0*.pdf")) if split else [Path("run.pdf")]
    sheet = sheets.load(sheet_name, _trim(design))
    stacks = [guillotine(file, sheet) for file in files]
    assert [name for stack in stacks for name in stack] == names
    if split:
        assert [len(stack) for stack in stacks] == [12, 11], "each file its own stack"
    with Path("run-manifest.csv").open(encoding="utf-8") as stream:
        listed = list(csv.DictReader(stream))
    assert sorted(listed, key=lambda m: (m["file"], int(m["stack"]))) == sorted(
        listed, key=lambda m: int(m["row"])
    ), "the manifest's stack places are the list's order"
    assert {m["slot"] for m in listed} == {str(n) for n in range(1, len(sheet.slots) + 1)}


def _trim(design: str) -> tuple[float, float]:
    found = load(Path(design).name)
    return (found.width_mm, found.height_mm)


def test_rows_order_is_what_it_was(env: Path) -> None:
    """Without --order, sheets fill in the list's order: the cut stack is interleaved."""
    names = write_list(6)
    status, _, err = invoke(
        "issue", "list.csv", "-d", "compact", "--set", "business=X", "--sheet", "letter-3up",
        "-o", "run.pdf",
    )  # fmt: skip
    assert status == 0, err
    sheet = sheets.load("letter-3up", _trim("compact"))
    assert guillotine(Path("run.pdf"), sheet) == [names[i] for i in (0, 3, 1, 4, 2, 5)]
    assert not Path("run-manifest.csv").exists()


@given(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=30))
def test_after_cutting_is_the_guillotines_order(count: int, per_sheet: int) -> None:
    """Against a direct simulation: sheets filled in order, piles by slot, piled."""
    places = sheets.after_cutting(count, per_sheet)
    drawn = list(range(count))
    piles = [drawn[slot::per_sheet] for slot in range(per_sheet)]
    stack = [j for pile in piles for j in pile]
    assert [places[j] for j in stack] == list(range(count))


@pytest.mark.parametrize(
    ("more", "says"),
    [
        ([], "--order cut-stack is for several certificates a sheet"),
        (["--sheet", "letter-1up"], "--order cut-stack is for several certificates a sheet"),
        (["--sheet", "letter-3up", "--limit", "3"], "give --split N for stacks of N"),
    ],
)
def test_cut_stack_needs_a_sheet_of_several_and_no_limit(
    env: Path, more: list[str], says: str
) -> None:
    write_list(3)
    status, _, err = invoke(
        "issue", "list.csv", "-d", "compact", "--set", "business=X", "--order", "cut-stack",
        "-o", "run.pdf", *more,
    )  # fmt: skip
    assert status == 2 and says in err, err
    assert not Path("run.pdf").exists()
