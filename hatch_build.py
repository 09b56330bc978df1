"""Install-time step: the front-end packages certgen serves come from the npm registry.

``npm ci`` installs what package-lock.json pins, and the files the web pages load are copied
into ``certgen/web_static/vendor`` (kept out of git, shipped in the wheel). certgen serves
them itself: no page loads anything from a CDN. A stamp of the lock file skips the work when
nothing changed, so a reinstall costs nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

VENDOR = Path("certgen/web_static/vendor")
# node_modules path -> the name the app serves it under (/static/vendor/<name>).
COPIES = {
    "zxing-wasm/dist/iife/reader/index.js": "zxing-reader.js",
    "zxing-wasm/dist/reader/zxing_reader.wasm": "zxing_reader.wasm",
    "zxing-wasm/LICENSE": "zxing-wasm.LICENSE.txt",
    # The dashboard's charts; the bundle holds its one dependency, @kurkle/color.
    "chart.js/dist/chart.umd.min.js": "chart.umd.js",
    "chart.js/LICENSE.md": "chart.js.LICENSE.txt",
}
NPM_HELP = (
    "certgen's /scan page and dashboard serve the zxing-wasm QR decoder and Chart.js from "
    "the npm registry, and installing certgen copies them in with npm: install Node.js and "
    "npm (Debian: apt-get install nodejs npm) and install certgen again"
)


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        vendor(root)
        for name in COPIES.values():  # git ignores the folder: the wheel still carries it
            build_data["force_include"][str(root / VENDOR / name)] = str(VENDOR / name)


def vendor(root: Path) -> None:
    lock = root / "package-lock.json"
    stamp = root / VENDOR / ".stamp"
    want = hashlib.sha256(lock.read_bytes() + repr(sorted(COPIES.items())).encode()).hexdigest()
    wanted = [root / VENDOR / name for name in COPIES.values()]
    wanted.append(root / "node_modules/.package-lock.json")  # the tests read axe-core there
    if stamp.exists() and stamp.read_text() == want and all(p.exists() for p in wanted):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm was not found. {NPM_HELP}")
    done = subprocess.run(  # noqa: S603 - npm, with the lock file's pinned packages
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm ci failed ({done.stderr.strip()[-2000:]}). {NPM_HELP}")
    (root / VENDOR).mkdir(parents=True, exist_ok=True)
    for source, name in COPIES.items():
        shutil.copyfile(root / "node_modules" / source, root / VENDOR / name)
    stamp.write_text(want)
