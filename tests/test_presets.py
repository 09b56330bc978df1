"""Campaign presets: a trade's pain, offer and terms to start from, below what the run
says and what the list's cells say, above certgen.toml's defaults."""

from __future__ import annotations

from pathlib import Path

from certgen import presets
from tests.helpers import page_text
from tests.test_cli import invoke

TRADES = ("auto-repair", "dental", "fitness", "home-services", "real-estate", "salon")


def test_six_trades_ship_with_copy_a_business_can_start_from(env: Path) -> None:
    status, out, _ = invoke("presets", "list")
    assert status == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == list(TRADES)
    for name in TRADES:
        found = presets.find(name, env)
        assert set(found.values) == {"pain", "offer", "terms"}, name
        assert found.values["pain"].startswith("Tired of"), name
    status, out, _ = invoke("presets", "show", "dental")
    assert status == 0 and "offer = A free check-up and clean for you" in out


def test_a_preset_fills_the_campaign_and_what_the_run_says_wins(env: Path) -> None:
    Path("certgen.toml").write_text('[defaults]\nbusiness = "Bright Smile"\npain = "Own pain?"\n')
    args = ["issue", "--config", "certgen.toml", "-d", "compact", "--preset", "dental"]
    status, _, err = invoke(*args, "--to", "Ann", "--from", "Bo", "-o", "one.pdf")
    assert status == 0, err
    text = page_text(Path("one.pdf"))
    dental = presets.find("dental", env).values
    assert dental["pain"] in text and dental["offer"] in text  # over [defaults]
    assert "New patients only." in text  # its terms too
    status, _, err = invoke(*args, "--to", "Cy", "--from", "Bo", "--offer", "Ours", "-o", "two.pdf")
    assert status == 0, err
    text = page_text(Path("two.pdf"))
    assert "Ours" in text and dental["offer"] not in text and dental["pain"] in text
    Path("list.csv").write_text("to,from,pain\nDee,Bo,Row pain?\nEd,Bo,\n")
    status, _, err = invoke(*args, "list.csv", "-o", "list.pdf")
    assert status == 0, err
    assert "Row pain?" in page_text(Path("list.pdf"), 0)  # the cell wins
    assert dental["pain"] in page_text(Path("list.pdf"), 1)  # an empty cell takes the preset


def test_a_business_writes_its_own_preset_and_a_wrong_one_is_refused(env: Path) -> None:
    folder = presets.user_dir(env)
    folder.mkdir(parents=True)
    (folder / "dental.toml").write_text('title = "Ours"\npain = "Tired of waiting rooms?"\n')
    assert presets.find("dental", env).values == {"pain": "Tired of waiting rooms?"}
    (folder / "bad.toml").write_text('offr = "x"\n')
    status, _, err = invoke("presets", "show", "bad")
    assert status != 0 and "unknown key 'offr' (did you mean 'offer'?)" in err
    status, _, err = invoke("issue", "-d", "compact", "--preset", "dentl", "--to", "A",
                            "--set", "business=B", "-o", "x.pdf")  # fmt: skip
    assert status != 0 and "no preset named 'dentl' (did you mean 'dental'?" in err
    assert not Path("x.pdf").exists()
