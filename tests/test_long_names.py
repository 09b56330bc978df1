"""Long real names never stop a mailing: 60 characters in each script certgen prints wrap
onto a second (or third) line, or shrink no smaller than the design's minimum, and stay in
their boxes."""

from __future__ import annotations

import csv
from pathlib import Path

import pdfplumber
import pytest

from certgen import design as design_mod
from tests.helpers import SHIPPED_NAMES, qr_codes
from tests.test_cli import certgen

NAMES = {
    "latin": "Maximiliana Alexandrina Wellington-Fitzgerald de la Cruz Sr.",
    "greek": "Αλεξάνδρα Κωνσταντινοπούλου-Παπαδημητρίου της Θεσσαλονίκης ΑΒ",
    "cyrillic": "Александра Константиновна Петропавловская-Шереметьева Иван И.",
    "arabic": "عبد الرحمن بن محمد بن عبد الله الهاشمي القرشي المكي المدني ال",
    "hebrew": "אלכסנדרה בת יוסף הכהן מירושלים עיר הקודש והתפארת הגדולה מאוד",
    "chinese": "欧阳" + "山田太郎" * 14 + "子",
    "japanese": "やまだ" + "たろうはなこ" * 9 + "よ",
    "korean": "김수한무 거북이와 두루미 삼천갑자 동방삭 치치카포 사리사리센타 워리워리 세브리깡 "
    "무두셀라 구름이 허리케인에 담벼락",
    "devanagari": "अलेक्ज़ेंड्रा कॉन्स्टेंटिनोवना पेट्रोपावलोव्स्काया शेरेमेतेवा",
    # Diacritics stacked on one letter (ễ, ượ, ặ, ỳ): the tallest Latin there is.
    "vietnamese": "Nguyễn Thị Phượng Hoàng Trần Lê Đặng Quỳnh Ngọc Hải Ấn Dũng Vỹ",
}


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_sixty_character_names_in_every_script_print(env: Path, name: str) -> None:
    with open("long.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["to", "from"])
        for text in NAMES.values():
            writer.writerow([text[:60], text[:60]])
    assert all(len(t[:60]) >= 58 for t in NAMES.values())
    done = certgen("issue", "long.csv", "-d", name, "--set", "business=S", "-o", "long.pdf")
    assert done.returncode == 0, done.stderr
    assert [len(page) for page in qr_codes(Path("long.pdf"), dpi=100)] == [1] * len(NAMES)
    design = design_mod.load(design_mod.locate(name, []))
    box = next(e for e in design.manifest.elements if e.id == "recipient")
    mm = 72 / 25.4
    with pdfplumber.open("long.pdf") as doc:
        words = doc.pages[0].extract_words()  # the Latin name: found whole, in its box
    found = [w for w in words if w["text"] in NAMES["latin"].split()]
    assert {w["text"] for w in found} >= {"Maximiliana", "Sr."}
    for w in found:
        if w["top"] / mm < box.y + box.height + 1 and w["bottom"] / mm > box.y - 1:
            assert box.x - 0.5 <= w["x0"] / mm and w["x1"] / mm <= box.x + box.width + 0.5
