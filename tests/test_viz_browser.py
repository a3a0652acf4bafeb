"""`culturesim viz` in a real browser: Debian's Chromium driven by Python Playwright.

Starts the real command on a free port, opens the page with no route to the internet needed,
and checks what a user would: the pictures render inside Mesa's SolaraViz, its Step advances
the week and the plots, its Play runs and pauses, a lever changes the running model's driver,
and picking a scenario (and a seed) then pressing Reset rebuilds the model from them.

Where Chromium is missing this test fails rather than skips: `.ci/run` installs it, and a
browser test that quietly skips proves nothing. Run it with `pytest -m browser`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from culturesim.engine.scenario import bundled_scenarios, load_scenario
from culturesim.viz.app import SCENARIO_LABEL, SEED_LABEL

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("CULTURESIM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",  # else Chromium keeps trying to reach the internet
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 60
STEP_TIMEOUT_MS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen) -> None:
    """Poll the page's address until it answers, failing early if the command died."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"culturesim viz exited with {process.returncode}:\n{process.stdout.read()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"culturesim viz did not answer at {url} within {START_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def server():
    """The real `culturesim viz baseline` on a free localhost port; stopped afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    process = subprocess.Popen(
        [sys.executable, "-m", "culturesim", "viz", "baseline", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_serving(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser_page(server):
    """A Chromium page on the app, recording every request that leaves the server."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (see .ci/run)")

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 2000})
        page.outside = []
        page.on(
            "request",
            lambda r: (
                None if r.url.startswith((server, "data:", "blob:")) else page.outside.append(r.url)
            ),
        )
        page.goto(server)
        page.wait_for_selector(".cs-week", timeout=START_TIMEOUT_S * 1000)
        page.wait_for_selector("img.cs-org-view", timeout=START_TIMEOUT_S * 1000)
        try:
            yield page
        finally:
            page.screenshot(path=str(ARTIFACTS / "viz-final.png"), full_page=True)
            browser.close()


def text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def week(page) -> int:
    return int(re.fullmatch(r"Week (\d+)", text(page, ".cs-week")).group(1))


def mesa_button(page, label: str):
    """One of SolaraViz's own buttons (Reset, Step, ▶, ❚❚), which carry no classes."""
    return page.get_by_role("button", name=label, exact=True)


def wait_for_week(page, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('.cs-week').textContent === n",
        arg=f"Week {n}",
        timeout=STEP_TIMEOUT_MS,
    )


def monitor(page, driver: str) -> float:
    """The running model's driver as the page reports it (`model.drivers_now`)."""
    return float(text(page, f".cs-monitor-{driver}").split()[-1])


def image_colours(page, selector: str) -> int:
    """How many distinct colours the image shows (about 1 for a blank or missing picture)."""
    return page.evaluate(
        """selector => {
            const img = document.querySelector(selector);
            if (!img || !img.complete || img.naturalWidth === 0) return 0;
            const canvas = document.createElement("canvas");
            canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
            const context = canvas.getContext("2d");
            context.drawImage(img, 0, 0);
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            const seen = new Set();
            for (let i = 0; i < data.length; i += 4 * 7) {
                seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
            }
            return seen.size;
        }""",
        selector,
    )


def test_page_is_self_contained_and_draws_every_view(browser_page):
    page = browser_page
    for view in ("img.cs-org-view", "img.cs-plots", "img.cs-cascade", "img.cs-history"):
        page.wait_for_function("s => document.querySelector(s)?.naturalWidth > 100", arg=view)
        assert image_colours(page, view) > 5, f"{view} is blank"
    assert text(page, ".cs-scenario") == "Scenario: baseline"
    expect(page.get_by_text("Model Parameters")).to_be_visible()  # Mesa's SolaraViz is the shell
    assert page.outside == [], f"requests left the local server: {page.outside[:5]}"


def test_three_steps_advance_the_week_and_the_plots(browser_page):
    page = browser_page
    start = week(page)
    plotted = int(text(page, ".cs-plot-weeks").split()[-1])
    before = page.get_attribute("img.cs-plots", "src")
    for clicks in range(1, 4):
        mesa_button(page, "Step").click()
        wait_for_week(page, start + clicks)
    expect(page.get_by_text(f"Step: {start + 3}")).to_be_visible()  # Mesa's counter agrees
    page.wait_for_function(
        "n => document.querySelector('.cs-plot-weeks').textContent.endsWith(n)",
        arg=f" {plotted + 3}",
        timeout=STEP_TIMEOUT_MS,
    )
    assert page.get_attribute("img.cs-plots", "src") != before
    assert image_colours(page, "img.cs-plots") > 5
    page.screenshot(path=str(ARTIFACTS / "viz.png"), full_page=True)


def test_regulator_pressure_slider_changes_the_running_model(browser_page):
    page = browser_page
    before = monitor(page, "regulator_pressure")
    slider = page.locator(".cs-lever-regulator_pressure .v-slider").first
    box = slider.bounding_box()
    page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + box["height"] / 2)
    page.wait_for_function(
        "b => parseFloat(document.querySelector('.cs-monitor-regulator_pressure')"
        ".textContent.split(' ').pop()) !== b",
        arg=before,
        timeout=STEP_TIMEOUT_MS,
    )
    moved = monitor(page, "regulator_pressure")
    assert moved == pytest.approx(0.8 * 3.0, abs=0.2)
    now = week(page)
    mesa_button(page, "Step").click()
    wait_for_week(page, now + 1)
    assert monitor(page, "regulator_pressure") == moved, "a live lever must hold after a step"


def test_play_runs_and_pause_stops(browser_page):
    page = browser_page
    start = week(page)
    mesa_button(page, "▶").click()
    wait_for_week(page, start + 2)
    mesa_button(page, "❚❚").click()
    expect(mesa_button(page, "Step")).to_be_enabled(timeout=STEP_TIMEOUT_MS)
    paused = week(page)
    time.sleep(1.5)
    assert week(page) in (paused, paused + 1), "Play kept stepping after Pause"


def test_picking_another_scenario_then_reset_rebuilds_the_model(browser_page):
    page = browser_page
    names = [name for name, _ in bundled_scenarios() if name != "baseline"]
    target = "punitive-regulator" if "punitive-regulator" in names else names[0]
    expected = load_scenario(target)
    page.locator(".v-select", has_text=SCENARIO_LABEL).click()
    page.locator(".v-menu__content .v-list-item", has_text=re.compile(f"^{target}$")).click()
    seed_box = page.get_by_label(SEED_LABEL)
    seed_box.fill("7")
    seed_box.press("Enter")
    mesa_button(page, "Reset").click()
    page.wait_for_function(
        "n => document.querySelector('.cs-scenario').textContent === n",
        arg=f"Scenario: {target}",
        timeout=START_TIMEOUT_S * 1000,
    )
    expect(page.locator(".cs-week")).to_have_text("Week 0")
    expect(page.locator(".cs-seed")).to_have_text("seed 7")
    for driver, value in (
        ("stance", expected.regulator.stance),
        ("regulator_pressure", expected.drivers.regulator_pressure.value),
    ):
        expect(page.locator(f".cs-monitor-{driver}")).to_have_text(re.compile(f" {value:.2f}$"))
    mesa_button(page, "Step").click()
    wait_for_week(page, 1)
