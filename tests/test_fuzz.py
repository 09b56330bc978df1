"""Random customer lists, options and design files through the real commands: whatever the
input, certgen answers with a located message and an exit code, never a traceback.

``invoke`` lets any exception other than a handled ``CertgenError`` out of the CLI, so a
hypothesis example that finds one fails with it. Bounded to about a minute in all.
"""

from __future__ import annotations

import os
import shutil
import string
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import TEST_DESIGNS
from tests.test_cli import invoke

SETTINGS = settings(
    # CERTGEN_FUZZ_EXAMPLES=2000 for a longer hunt; the suite's default keeps to a minute.
    max_examples=int(os.environ.get("CERTGEN_FUZZ_EXAMPLES", "120")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The exit codes certgen documents for a refusal (README's table); 0 when the input is fine.
ANSWERS = {0, 1, 2, 3, 4, 5, 6, 7, 14, 15}
FIELDS = ["recipient", "giver", "amount", "expires", "business", "email", "first_name"]
# Characters that make CSV and templates interesting, with some ordinary text.
TRICKY = ",;\t|\"'\n\r\x00\ufeff\u2028\u202e\u200d\u0301{}%#=+-@ " + string.ascii_letters[:8]
cells = st.one_of(
    st.text(alphabet=TRICKY, max_size=12),
    st.sampled_from(
        [
            "",
            "Bob Ng",
            "2027-03-31",
            "+90",
            "+2932896",
            "1E+400",
            "12,34",
            "1.234,56",
            "NaN",
            "-5",
            "31/12/2027",
            "=cmd|' /C calc'!A0",
        ]
    ),
    st.text(max_size=8),
)


@st.composite
def lists(draw: st.DrawFn) -> bytes:
    """A customer list: a header of field names and odd ones, rows of odd cells, in one of
    the ways files are written (delimiters, BOMs, encodings), or plain random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(st.lists(st.one_of(st.sampled_from(FIELDS), cells), min_size=0, max_size=6))
    rows = draw(st.lists(st.lists(cells, max_size=7), max_size=5))
    text = "\n".join(delimiter.join(line) for line in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace")


options = st.lists(
    st.sampled_from(
        [
            ["--delimiter", "tab"],
            ["--delimiter", "::"],
            ["--delimiter", ";"],
            ["--date-format", "%d/%m/%Y"],
            ["--date-format", "%Q%"],
            ["--encoding", "cp1252"],
            ["--encoding", "no-such-codec"],
            ["--map", "Name=recipient"],
            ["--map", "recipient={{ first_name }} {{ 1/0 }}"],
            ["--map", "recipient={% for i in range(99999) %}{{ i }}{% endfor %}"],
            ["--expires", "+2932896"],
            ["--expires", "yesterday"],
            ["--set", "amount=1E+400"],
            ["--set", "=x"],
            ["--skip-invalid"],
            ["--strict-columns"],
            ["--profile", "shopify"],
            ["--list-of", "customers"],
            ["--limit", "1"],
            ["--sort-by", "nope"],
        ]
    ),
    max_size=3,
)


@SETTINGS
@given(data=lists(), extra=options)
def test_any_customer_list_is_issued_or_refused_with_a_message(
    env: Path, data: bytes, extra: list[list[str]]
) -> None:
    Path("list.csv").write_bytes(data)
    flags = [flag for pair in extra for flag in pair]
    code, _, err = invoke(
        "issue", "list.csv", "-d", str(TEST_DESIGNS / "tiny"), "--set", "business=X",
        "--dry-run", "--new-run", *flags,
    )  # fmt: skip
    assert code in ANSWERS, err
    assert "Traceback" not in err


TEMPLATE_PARTS = [
    "{{ recipient }}", "{{ amount|money }}", "{{ expires|date }}", "{{ recipient|date }}",
    "{{ 1/0 }}", "{{ 'x' * 10**9 }}", "{% for i in range(10**5) %}", "{% endfor %}", "{% if ",
    "giver %}", "{% endif %}", "{{ ", " }}", "{%", "|", "(", ")", "'", "lipsum(3)",
    "{% include 'x' %}", "{{ code }}", "{{ self }}", "{{ namespace() }}", "{{ range(3)|list }}",
    "{{ recipient.__class__ }}", "plain text ", "ü", "\u202e",
]  # fmt: skip
values = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.booleans(),
    st.lists(st.integers(-5, 500), max_size=3),
    st.just({"a": {"b": [1, {"c": "d"}]}}),
    st.just("../../etc/passwd"),
    st.just("@logo"),
)


@st.composite
def manifests(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """The tiny design with a few of its values replaced: a key set to an odd value, an
    element's text to a template made of risky pieces, an element dropped or duplicated."""
    manifest: dict[str, Any] = tomllib.loads(tomli_w.dumps(base))  # a deep copy
    elements = manifest["elements"]
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["value", "text", "drop", "copy", "section"]))
        element = elements[draw(st.integers(0, len(elements) - 1))] if elements else {}
        if action == "value" and element:
            element[draw(st.sampled_from([*element, "size", "min_size", "x", "page"]))] = draw(
                values
            )
        elif action == "text" and element:
            element["text"] = "".join(draw(st.lists(st.sampled_from(TEMPLATE_PARTS), max_size=6)))
        elif action == "drop" and elements:
            elements.remove(element)
        elif action == "copy" and element:
            elements.append(dict(element))
        elif action == "section":
            section = draw(st.sampled_from(["design", "fields"]))
            target = manifest.setdefault(section, {})
            key = draw(st.sampled_from([*target, "page", "background", "art_dpi", "extra"]))
            target[key] = draw(values)
    return manifest


BASE = tomllib.loads((TEST_DESIGNS / "tiny" / "design.toml").read_text())


@SETTINGS
@given(manifest=manifests(BASE))
def test_any_design_file_is_checked_or_refused_with_a_message(
    env: Path, tmp_path: Path, manifest: dict[str, Any]
) -> None:
    folder = tmp_path / "design"
    if not folder.exists():
        shutil.copytree(TEST_DESIGNS / "tiny", folder)
    try:
        text = tomli_w.dumps(manifest)
    except (TypeError, ValueError):
        return  # not writable as TOML: not a file a designer could write
    (folder / "design.toml").write_text(text)
    code, _, err = invoke("designs", "check", str(folder))
    assert code in ANSWERS, err
    code, _, err = invoke(
        "issue", "-d", str(folder), "--to", "Bob", "--from", "Jane", "--set", "business=X",
        "--set", "amount=12.50", "--dry-run",
    )  # fmt: skip
    assert code in ANSWERS, err


@SETTINGS
@given(code=st.text(alphabet=string.ascii_letters + string.digits + "-_ \u0301\x00ö", max_size=40))
def test_any_code_typed_at_the_counter_is_answered(env: Path, code: str) -> None:
    for command in ("show", "redeem"):
        answer, _, err = invoke(command, "--", code) if code else (2, "", "")
        assert answer in ANSWERS | {8, 9, 10}, err
