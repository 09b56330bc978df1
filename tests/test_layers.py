"""Elements are drawn in the order the design lists them, the later on top, whether or not
they have variables; and one id names one element."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.test_cli import invoke

DESIGN = """format = 1
[design]
name = "layers"
title = "Layers"
width_mm = 100
height_mm = 60
background_color = "#FFFFFF"

[fields.recipient]
sample = "Ann"

[[elements]]
type = "qr"
id = "qr"
x = 10
y = 10
size = 40

[[elements]]
type = "rect"
id = "over-the-qr"
x = 5
y = 5
width = 20
height = 20
fill = "#FF0000"

[[elements]]
type = "rect"
id = "card"
x = 60
y = 10
width = 35
height = 20
fill = "#0000FF"

[[elements]]
type = "text"
id = "name"
x = 62
y = 12
width = 30
height = 16
text = "{{ recipient }}"
font = "Noto Sans"
size = 30
color = "#000000"

[[elements]]
type = "rect"
id = "over-the-name"
x = 60
y = 10
width = 12
height = 20
fill = "#00FF00"
"""


def pixel(image: Image.Image, x_mm: float, y_mm: float) -> tuple[int, ...]:
    dpm = image.width / 100
    rgb: tuple[int, ...] = image.convert("RGB").getpixel((round(x_mm * dpm), round(y_mm * dpm)))  # type: ignore[assignment]
    return rgb


def test_later_elements_are_on_top_with_or_without_variables(env: Path) -> None:
    folder = Path("layers")
    folder.mkdir()
    (folder / "design.toml").write_text(DESIGN)
    status, _, err = invoke("preview", str(folder), "--dpi", "200", "-o", "p.png")
    assert status == 0, err
    image = Image.open("p.png")
    # A fixed rect declared after the QR code (which has variables) covers its corner.
    assert pixel(image, 15, 15) == (255, 0, 0)
    assert pixel(image, 30, 30) in ((0, 0, 0), (255, 255, 255))  # the QR code elsewhere
    # The name (variables) is on the blue card before it and under the green one after.
    assert pixel(image, 66, 20) == (0, 255, 0)
    assert pixel(image, 90, 28) == (0, 0, 255)


def test_an_id_given_twice_is_refused_with_both_places(env: Path) -> None:
    folder = Path("twice")
    folder.mkdir()
    (folder / "design.toml").write_text(DESIGN.replace('id = "card"', 'id = "qr"'))
    status, _, err = invoke("designs", "check", str(folder))
    assert status == 4
    assert "the id 'qr' is given to [[elements]] 1 and [[elements]] 3" in err
