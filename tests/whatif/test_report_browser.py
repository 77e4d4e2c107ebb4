"""The HTML report opened in headless Chromium shows the plot and the table, with no network."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from engine.whatif import scale_sweep, whatif
from formulations.atomic_write import atomic_write_text
from treatalloc.report.whatif_report import render_html, render_png

from .helpers import small

pytestmark = pytest.mark.browser

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def find_chromium() -> str:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    pytest.skip("headless Chromium not found (install Debian's chromium and chromium-driver: "
                "apt-get install -y chromium chromium-driver); the HTML report was not opened")


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    exe = find_chromium()
    return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "HOME": str(profile)})


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[dict[str, str | None]] = []
        self.table_ids: list[str | None] = []
        self.rows = 0
        self.headers: list[str] = []
        self._in_th = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        elif tag == "table":
            self.table_ids.append(a.get("id"))
        elif tag == "tr":
            self.rows += 1
        elif tag == "th":
            self._in_th = True

    def handle_endtag(self, tag):
        if tag == "th":
            self._in_th = False

    def handle_data(self, data):
        if self._in_th:
            self.headers.append(data.strip())


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    inst = small(30, 1, seed=12)
    w = whatif(inst, scale_sweep(inst, np.linspace(0.2, 1.4, 7)), solver="highs")
    path = tmp_path_factory.mktemp("report") / "whatif.html"
    atomic_write_text(path, render_html(w, render_png(w)))
    return path


def test_dom_has_the_embedded_plot_and_the_table(report, tmp_path):
    done = chromium(["--dump-dom", report.as_uri()], tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    page = Page()
    page.feed(done.stdout)
    plots = [a for a in page.imgs if a.get("id") == "whatif-plot"]
    assert len(plots) == 1
    src = plots[0]["src"] or ""
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "whatif-table" in page.table_ids
    assert page.rows == 1 + 7  # header + one row per point
    assert {"point", "value", "lambda_cash", "coupon_4"} <= set(page.headers)


def test_screenshot_shows_the_plot(report, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "shot.png"
    done = chromium([f"--screenshot={shot}", "--window-size=1100,1300", report.as_uri()],
                    tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    rgb = (imread(shot)[:, :, :3] * 255).astype(int)
    assert rgb.std() > 20, "the screenshot is blank"
    # the control band of the mix is viridis(0) at alpha 0.9 over white: nothing else on the page
    # has that colour, so finding a patch of it means the embedded plot was decoded and drawn
    purple = np.array([87, 26, 101])
    near = np.abs(rgb - purple).max(axis=2) <= 14
    assert near.sum() > 2000, f"plot colours not found in the screenshot ({near.sum()} pixels)"
