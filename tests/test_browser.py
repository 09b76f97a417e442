"""report.html as a person sees it: headless Chromium (Debian's chromium and chromium-driver).

The page must load with no console error and nothing fetched from the network,
every chart must have drawn, and a screenshot must show a page, not a blank one
(the blank check itself is tested on a deliberately blank page). Skipped only
when chromium is missing outside CI; under CI (``CI`` set) it must run:
``.ci/run`` installs chromium when it is missing.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from demandsim.report import REPORT_FILE, build_report
from helpers import small_sweep

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,1000"]

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI"):
        raise RuntimeError("CI is set but chromium or chromedriver is missing: .ci/run installs them "
                           "(apt-get install chromium chromium-driver)")
    pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver); "
                "CI installs them and runs these tests", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="demandsim-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def looks_drawn(png: bytes, min_share: float = 0.02, min_colours: int = 24) -> bool:
    """True if a screenshot is not blank: enough pixels differ from the commonest colour,
    in enough different colours (a flat page, or one with a line of text, fails)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height)
    background = max(colours)[0]
    share = 1 - background / (image.width * image.height)
    return share >= min_share and len(colours) >= min_colours


def wait_for_charts(driver, timeout: float = 30.0) -> int:
    """Wait until every chart div has been drawn by plotly; returns how many there are."""
    script = """
      const divs = [...document.querySelectorAll('[data-chart] .js-plotly-plot')];
      const drawn = divs.filter(d => d._fullLayout && d.querySelector('.main-svg')
                                     && d.getBoundingClientRect().height > 150);
      return [divs.length, drawn.length];"""
    deadline = time.monotonic() + timeout
    while True:
        total, drawn = driver.execute_script(script)
        if total and drawn == total or time.monotonic() > deadline:
            return total if drawn == total else -drawn
        time.sleep(0.2)


def open_page(driver, path: Path) -> list[dict]:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(path.resolve().as_uri())
    return driver


def test_sweep_report_loads_draws_every_chart_and_fetches_nothing(browser, tmp_path):
    folder = tmp_path / "sw"
    shutil.copytree(small_sweep(), folder)
    page = build_report(folder)
    open_page(browser, page)
    charts = len(browser.find_elements("css selector", "[data-chart]"))
    assert charts == 13  # 7, and a chart for each of the baseline's six areas
    assert wait_for_charts(browser) == charts, "some charts did not draw"
    # plotly draws one main svg per chart plus its overlay layers: at least one each, inside each chart
    svgs = browser.execute_script("return [...document.querySelectorAll('[data-chart]')]"
                                  ".map(d => d.querySelectorAll('.main-svg').length)")
    assert len(svgs) == charts and min(svgs) >= 1
    # drawn traces: sweep lines, heatmap cells, average-day lines
    assert browser.execute_script("return document.querySelectorAll('.scatterlayer .trace').length") >= 10
    assert browser.execute_script("return document.querySelectorAll('.heatmaplayer image, .hm image').length") >= 3
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
    assert not [r for r in resources if r.startswith(("http:", "https:"))], resources
    for div in browser.find_elements("css selector", "[data-chart]"):  # each chart, as an image, is not blank
        browser.execute_script("arguments[0].scrollIntoView()", div)
        assert looks_drawn(div.screenshot_as_png, min_share=0.03), div.get_attribute("data-chart")


def test_screenshot_of_the_report_is_not_blank(browser, tmp_path):
    folder = tmp_path / "sw"
    shutil.copytree(small_sweep(), folder)
    open_page(browser, build_report(folder))
    assert wait_for_charts(browser) == 13
    browser.execute_script("document.querySelector('[data-chart=\"chart-sl-999\"]').scrollIntoView()")
    shot = browser.get_screenshot_as_png()
    (tmp_path / "report.png").write_bytes(shot)
    assert looks_drawn(shot)


def test_the_blank_check_rejects_a_blank_page(browser, tmp_path):
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    open_page(browser, blank)
    assert not looks_drawn(browser.get_screenshot_as_png())
    one_line = tmp_path / "text.html"  # a page with only a heading is blank too, for a report
    one_line.write_text("<!DOCTYPE html><html><body><h1>Demand hub report</h1></body></html>")
    open_page(browser, one_line)
    assert not looks_drawn(browser.get_screenshot_as_png())


def test_a_page_whose_charts_fail_is_caught(browser, tmp_path):
    """A report whose plotly.js is missing draws nothing: the chart check must notice, and the console error."""
    folder = tmp_path / "sw"
    shutil.copytree(small_sweep(), folder)
    page = build_report(folder)
    text = page.read_text(encoding="utf-8")
    head, rest = text.split('<script type="text/javascript">', 1)
    broken = tmp_path / REPORT_FILE
    broken.write_text(head + "<script>" + rest.split("</script>", 1)[1], encoding="utf-8")
    open_page(browser, broken)
    assert wait_for_charts(browser, timeout=3) <= 0
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_comparison_section_draws_and_is_not_blank(browser, tmp_path):
    """--baseline adds a section: the paired differences and the heatmaps beside the baseline's."""
    folder = tmp_path / "sw"
    shutil.copytree(small_sweep(), folder)
    open_page(browser, build_report(folder, baseline="0"))
    assert wait_for_charts(browser) == 13 + 4  # the difference chart and three pairs of heatmaps
    section = browser.find_element("css selector", "#comparison")
    assert len(section.find_elements("css selector", "[data-chart]")) == 4
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    for div in section.find_elements("css selector", "[data-chart]"):
        browser.execute_script("arguments[0].scrollIntoView()", div)
        assert looks_drawn(div.screenshot_as_png, min_share=0.03), div.get_attribute("data-chart")
    browser.execute_script("document.querySelector('#comparison').scrollIntoView()")
    shot = browser.get_screenshot_as_png()
    (tmp_path / "comparison.png").write_bytes(shot)
    assert looks_drawn(shot)
