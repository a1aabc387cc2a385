"""The pages in a real browser: Debian's chromium driven by Playwright (scripts/system-packages.sh installs it;
Playwright's own browser download is never used). Each page of a real run is loaded, its visible content checked,
and a screenshot taken and checked not to be blank. The live test watches a running search's step count rise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests_dashboard_support import HOSTILE_RUN, not_blank, serve

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if os.environ.get("PBTNAS_NO_BROWSER"):
        pytest.skip("PBTNAS_NO_BROWSER is set")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("no chromium on PATH: run `sh scripts/system-packages.sh` as root (apt-get install chromium), "
                    "or set PBTNAS_NO_BROWSER=1 to skip the browser tests knowingly")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # bypass_csp: the tests' own evaluate/wait_for_function calls are string scripts the page's policy refuses;
    # without the policy a hostile name that became markup would also run, so the hostile test is stricter.
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda err: pg.errors.append(str(err)))
    pg.on("console", lambda msg: msg.type == "error" and pg.errors.append(msg.text))
    yield pg
    context.close()


def screenshot(pg: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    png = pg.screenshot(path=str(path), full_page=True)
    assert not_blank(png), f"{path} is blank"


def test_runs_page(page: Any, served: str, tmp_path: Path) -> None:
    page.goto(served + "/")
    page.wait_for_selector("#runs-table tbody tr")
    rows = page.locator("#runs-table tbody tr")
    assert rows.count() == 2
    text = page.locator("#runs-table").inner_text()
    assert "digits-pbt" in text and "digits" in text and "classify" in text and "PBT-NAS" in text
    assert "finished" in text and "2 / 2" in text
    screenshot(page, tmp_path / "runs.png")
    assert page.errors == []


def test_run_page(page: Any, served: str, runs_folder: Path, tmp_path: Path) -> None:
    summary = json.loads((runs_folder / "digits-pbt" / "progress.json").read_text())
    page.goto(served + "/run?run=digits-pbt")
    page.wait_for_selector("#population-table tbody tr")
    assert page.locator("#population-table tbody tr").count() == 4
    header = page.locator("#population-table thead").inner_text()
    assert "classifier.stage1" in header and "fitness" in header and "parents" in header
    assert page.locator("#steps-done").inner_text() == "2 of 2"
    assert f"{summary['best_ever']['fitness']:.4}"[:5] in page.locator("#summary-table").inner_text()
    # the two charts drew on their canvases, the lineage graph has a node per member ever made
    for canvas in ("#fitness-chart", "#origin-chart"):
        assert page.evaluate(f"Chart.getChart(document.querySelector('{canvas}')).data.datasets.length") >= 4
    assert page.locator("#lineage-graph circle").count() >= 4
    # a member's tooltip is made when the pointer reaches it (a long run has thousands of them)
    page.locator("#lineage-graph circle").first.dispatch_event("mouseover")
    assert page.locator("#lineage-graph circle title").first.text_content().startswith("member ")
    assert page.locator("#best-table tbody tr").count() == page.locator("#population-table thead th").count() - 11
    grid = page.locator("#media-grid img")
    assert grid.count() == 1
    page.wait_for_function("document.querySelector('#media-grid img').naturalWidth > 0")
    # the best member's diagram, drawn by pbtnas.export.diagram (Graphviz's dot: scripts/system-packages.sh)
    if shutil.which("dot"):
        page.wait_for_function("document.querySelector('#diagram img.diagram')?.naturalWidth > 0", timeout=120_000)
    else:
        page.wait_for_function("document.querySelector('#diagram').textContent.includes('No diagram')")
    header_row = page.locator("#population-table thead").inner_text()
    assert "parameters" in header_row and "multiply-adds" in header_row
    assert "search digits-pbt: 2 workers, started" in page.locator("#events-table").inner_text()
    assert '"population": 4' in page.locator("#config").inner_text()
    page.select_option("#epoch", "1")  # an earlier step of the population table
    page.wait_for_function("document.querySelector('#epoch').value === '1'")
    screenshot(page, tmp_path / "run.png")
    assert page.errors == []


def test_compare_page(page: Any, served: str, tmp_path: Path) -> None:
    page.goto(served + "/")
    page.wait_for_selector("#runs-table tbody tr")
    for box in page.locator("input.pick").all():
        box.check()
    page.click("#compare-selected")
    page.wait_for_selector("#compare-table tbody tr")
    assert page.locator("#compare-table tbody tr").count() == 2
    assert "PBT-NAS" in page.locator("#cells-table").inner_text()
    assert page.evaluate("Chart.getChart(document.querySelector('#compare-chart')).data.datasets.length") == 2
    assert page.evaluate("Chart.getChart(document.querySelector('#final-chart')).data.labels.length") == 2
    screenshot(page, tmp_path / "compare.png")
    assert page.errors == []


def test_hostile_names_are_shown_as_text(page: Any, served: str) -> None:
    page.goto(served + "/run?" + HOSTILE_RUN)
    page.wait_for_selector("#population-table tbody tr")
    page.wait_for_selector("#events-table")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#population-table img").count() == 0  # the markup stayed text
    assert '<img src=x onerror="window.__pwned=1">' in page.locator("#population-table").inner_text()
    assert '<img src=x onerror="window.__pwned=1">' in page.locator("#title").inner_text()
    assert '<img src=x onerror="window.__pwned=1">' in page.locator("#events-table").inner_text()  # a log line
    assert '"label_column": "<img src=x onerror=' in page.locator("#config").inner_text()
    page.goto(served + "/")
    page.wait_for_selector("#runs-table tbody tr")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#runs-table img").count() == 0


def test_a_running_search_updates_the_open_page(page: Any, ray_session: str, tmp_path: Path) -> None:
    """Start a search, open its page, see the committed steps rise without reloading."""
    folder = tmp_path / "runs"
    run = folder / "live"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    search = subprocess.Popen(
        [sys.executable, "-m", "pbtnas", "search", str(ROOT / "spaces" / "digits.nas"), "--task", "classify",
         "--population", "4", "--epochs", "20", "--step", "1", "--workers", "2", "--no-progress", "--no-tensorboard",
         "--task-option", "train_limit=1000", "--address", ray_session, "--out", str(run)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not (run / "progress.json").exists():
            assert search.poll() is None, search.stderr.read().decode()
            assert time.monotonic() < deadline, "the search committed no step in 4 minutes"
            time.sleep(0.5)
        for base in serve(folder):
            page.goto(base + "/run?run=live")
            page.wait_for_selector("#steps-done")
            first = int(page.locator("#steps-done").inner_text().split()[0])
            page.evaluate("window.__sameDocument = true")  # gone if the page reloaded
            page.wait_for_function(
                f"parseInt(document.querySelector('#steps-done').textContent) > {first}", timeout=240_000)
            assert page.evaluate("window.__sameDocument") is True
            later = int(page.locator("#steps-done").inner_text().split()[0])
            assert later > first
            page.wait_for_function("document.querySelector('#steps-done').textContent === '20 of 20'", timeout=240_000)
            assert search.wait(timeout=120) == 0
            page.wait_for_function(
                "document.querySelector('#summary-table').textContent.includes('finished')", timeout=20_000)
    finally:
        if search.poll() is None:
            search.terminate()
            search.wait(timeout=60)
    assert page.errors == []
