from __future__ import annotations

import ast
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certgen import codes

canonical = st.text(alphabet=codes.ALPHABET, min_size=16, max_size=16).map(
    lambda data: data + codes.check_symbol(data)
)


@pytest.fixture(scope="module")
def generated() -> list[str]:
    return [codes.generate() for _ in range(100_000)]


def test_codes_are_80_random_bits_plus_a_check_symbol_and_unique(generated: list[str]) -> None:
    assert len(set(generated)) == len(generated)
    for code in generated[:5000]:
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{17}", code)
        assert codes.is_valid(code)
    assert len(codes.ALPHABET) ** codes.DATA_LENGTH == 2**80


def test_symbols_are_uniform_at_every_position(generated: list[str]) -> None:
    """Chi-square per position, 31 degrees of freedom. 70.67 is the critical value for
    p = 0.001 / 16 (Bonferroni over the 16 positions), so a correct generator fails this
    test about once in a thousand runs; a modulo bias of a few percent fails it always."""
    expected = len(generated) / 32
    for position in range(codes.DATA_LENGTH):
        counts = Counter(code[position] for code in generated)
        assert set(counts) == set(codes.ALPHABET)
        chi2 = sum((counts[s] - expected) ** 2 / expected for s in codes.ALPHABET)
        assert chi2 < 70.67, (position, chi2)


def test_codes_come_from_secrets_not_random() -> None:
    random.seed(1)
    first = {codes.generate() for _ in range(10)}
    random.seed(1)
    assert first.isdisjoint({codes.generate() for _ in range(10)})
    tree = ast.parse(Path(codes.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "random" not in imported and "secrets" in imported


def test_display_groups_four_and_sets_the_check_symbol_apart() -> None:
    code = "ABCDEFGHJKMNPQRS" + codes.check_symbol("ABCDEFGHJKMNPQRS")
    assert codes.display(code) == f"ABCD-EFGH-JKMN-PQRS-{code[-1]}"


@given(canonical, st.data())
def test_normalize_undoes_what_people_do_to_a_code(code: str, data: st.DataObject) -> None:
    typed = codes.display(code)
    if data.draw(st.booleans()):
        typed = typed.lower()
    typed = typed.replace("-", data.draw(st.sampled_from(["-", " ", "", " - "])))
    typed = typed.replace("0", data.draw(st.sampled_from(["0", "O", "o"])))
    typed = typed.replace("1", data.draw(st.sampled_from(["1", "I", "l", "L", "i"])))
    assert codes.normalize(f"  {typed} ") == code


def test_normalize_takes_a_scanned_redeem_url() -> None:
    code = codes.generate()
    assert codes.normalize(f"https://gifts.example/r/{code}") == code


@given(canonical)
def test_check_symbol_catches_every_substitution_and_adjacent_transposition(code: str) -> None:
    for i in range(len(code)):
        for symbol in codes.ALPHABET.replace(code[i], ""):
            assert not codes.is_valid(code[:i] + symbol + code[i + 1 :])
        if i + 1 < len(code) and code[i] != code[i + 1]:
            assert not codes.is_valid(code[:i] + code[i + 1] + code[i] + code[i + 2 :])


def test_is_valid_refuses_wrong_lengths_and_symbols() -> None:
    code = codes.generate()
    assert not codes.is_valid(code[:-1])
    assert not codes.is_valid(code + "0")
    assert not codes.is_valid(code[:-1] + "U")
    assert not codes.is_valid("")


def test_packed_codes_read_back_as_they_were_given() -> None:
    given = [codes.generate() for _ in range(5)]
    packed = codes.Packed(given[:3])
    packed.extend(given[3:])
    assert len(packed) == 5 and list(packed) == given and packed == given
    assert packed[-1] == given[-1] and packed[1:3] == given[1:3]
    assert len(packed.data) == 5 * codes.CODE_LENGTH
    with pytest.raises(ValueError, match="not a canonical code"):
        packed.append("ABCD-EFGH")
    with pytest.raises(IndexError):
        packed[5]


def test_default_codes_use_every_symbol_in_every_position_evenly() -> None:
    drawn = [codes.generate() for _ in range(6400)]  # 200 of each symbol expected per position
    for position in range(codes.DATA_LENGTH):
        counts = Counter(code[position] for code in drawn)
        assert set(counts) == set(codes.ALPHABET)
        assert 110 < min(counts.values()) and max(counts.values()) < 300  # > 6 sigma away
