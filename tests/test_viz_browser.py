"""`culturesim viz` in a real browser: Debian's Chromium driven by Python Playwright.

One server and one page for the whole module (each page start costs seconds), on a scenario
of three small trusts written here. In order, as a researcher would: the page opens offline
with plain controls and a placeholder; a branch at week 5 with the stance changed on one arm
advances with the main run and differs from it; replicate pairs run in the background while
the page answers and put an interval on the difference; the download is a pair of run folders
that `culturesim cascades` reads, identical before the branch week; a directorate and a person
show that person's lineage, and so does clicking a person in the picture; the national view
shows the three trusts and a click opens one; the largest live cascade animates over recent
weeks; screenshots at 1366x768 and 1920x1080 (test-artifacts/); Play and Pause; starting again
from another scenario builds it while the page answers.

Where Chromium is missing this test fails rather than skips: `.ci/run` installs it, and a
browser test that quietly skips proves nothing. Run it with `pytest -m browser`.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect, sync_playwright

from culturesim.engine.scenario import load_scenario
from culturesim.viz import pictures, views
from culturesim.viz.plots import MEASURES
from culturesim.viz.session import VizModel

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
THREE_TRUSTS = """\
extends = "baseline"
name = "three-trusts"
question = "Three small trusts side by side (the page's browser test)."

[organisation]
trusts = 3
staff_per_trust = 600
"""
SIZES = {"1366x768": (1366, 768), "1920x1080": (1920, 1080)}


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
def scenario_file(tmp_path_factory) -> Path:
    scenario = tmp_path_factory.mktemp("page") / "three-trusts.toml"
    scenario.write_text(THREE_TRUSTS)
    return scenario


@pytest.fixture(scope="module")
def server(scenario_file):
    """The real `culturesim viz three-trusts.toml` on a free localhost port; stopped after."""
    scenario = scenario_file
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    process = subprocess.Popen(
        [sys.executable, "-m", "culturesim", "viz", str(scenario), "--port", str(port)],
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
        (ARTIFACTS / "viz-server.log").write_text(process.stdout.read())


@pytest.fixture(scope="module")
def browser_page(server):
    """A Chromium page on the app at 1366x768, recording every request that leaves the server."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (see .ci/run)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
        page.outside = []
        page.on(
            "request",
            lambda r: (
                None if r.url.startswith((server, "data:", "blob:")) else page.outside.append(r.url)
            ),
        )
        page.goto(server)
        page.wait_for_selector(".cs-week", timeout=START_TIMEOUT_S * 1000)
        try:
            yield page
        finally:
            page.screenshot(path=str(ARTIFACTS / "viz-final.png"), full_page=True)
            browser.close()


def text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def week(page) -> int:
    return int(re.fullmatch(r"Week (\d+)", text(page, ".cs-week")).group(1))


def button(page, label: str):
    return page.get_by_role("button", name=label, exact=True)


def wait_for_week(page, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('.cs-week').textContent === n",
        arg=f"Week {n}",
        timeout=STEP_TIMEOUT_MS,
    )


def step(page, weeks: int) -> None:
    start = week(page)
    for n in range(1, weeks + 1):
        button(page, "Step a week").click()
        wait_for_week(page, start + n)


def monitor(page, driver: str) -> float:
    """The driver of the arm the levers move, as the page reports it (`model.drivers_now`)."""
    return float(text(page, f".cs-monitor-{driver}").split()[-1])


def set_slider(page, lever: str, fraction: float, moving: str = "main") -> None:
    """Click a lever's slider (the one drawn for the arm `moving`) at a fraction of its track
    and wait for the model to follow."""
    before = monitor(page, lever)
    box = page.locator(f".cs-moving-{moving} .cs-lever-{lever} .v-slider").bounding_box()
    page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
    page.wait_for_function(
        "([s, b]) => parseFloat(document.querySelector(s).textContent.split(' ').pop()) !== b",
        arg=[f".cs-monitor-{lever}", before],
        timeout=STEP_TIMEOUT_MS,
    )


def choose(page, select: str, option: int | str) -> None:
    """Open a Select (by its cs- class) and pick an option by position or exact text, from
    the list that Select owns (Vuetify keeps closed menus in the page)."""
    page.locator(select).click()
    owner = page.locator(f"{select} [aria-owns]").first
    items = page.locator(f"#{owner.get_attribute('aria-owns')} .v-list-item")
    if isinstance(option, int):
        items.nth(option).click()
    else:
        items.filter(has_text=re.compile(f"^{re.escape(option)}$")).click()


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


COUNT_COLOURS = """selector => {
    const img = document.querySelector(selector);
    if (!img || !img.complete || img.naturalWidth < 100) return 0;
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set();
    for (let i = 0; i < data.length; i += 4 * 7) {
        seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
    return seen.size > 5 ? seen.size : 0;
}"""


def image_colours(page, selector: str) -> int:
    """How many distinct colours the image shows, waiting for one with more than five (a
    blank or missing picture has about one); fails if none comes."""
    handle = page.wait_for_function(COUNT_COLOURS, arg=selector, timeout=STEP_TIMEOUT_MS)
    return handle.json_value()


def test_page_opens_offline_with_plain_controls_and_a_placeholder(browser_page):
    page = browser_page
    assert text(page, ".cs-scenario") == "Scenario: three-trusts"
    expect(page.locator(".cs-plots-placeholder")).to_be_visible()  # not an empty axis
    tabs = [t.strip() for t in page.get_by_role("tab").all_inner_texts()]
    assert [t.lower() for t in tabs] == [
        "outcomes over time",
        "organisation",
        "cascades",
        "national view",
    ]
    body = page.inner_text("body")
    for internal in ("Render Interval", "Use Threads", "Page 0", "PAGE 0"):
        assert internal not in body
    for lever in ("regulator_pressure", "stance", "funding", "demand", "public_aggression"):
        box = page.locator(f".cs-lever-{lever}").bounding_box()
        assert box["y"] + box["height"] <= 768, f"lever {lever} is below the fold"
    assert page.outside == [], f"requests left the local server: {page.outside[:5]}"


def test_branch_at_week_5_then_a_stance_change_on_one_arm(browser_page):
    page = browser_page
    step(page, 5)
    assert image_colours(page, "img.cs-plots") > 5
    button(page, "Branch here").click()
    expect(page.locator(".cs-branch-week")).to_contain_text("branched at week 5")
    expect(page.locator(".cs-lever-arm")).to_have_text("moving: branch")
    main_stance = monitor(page, "stance")
    set_slider(page, "stance", 0.05, moving="branch")
    branch_stance = monitor(page, "stance")
    assert branch_stance < main_stance - 0.2
    step(page, 5)
    expect(page.locator(".cs-plot-weeks")).to_have_text("weeks plotted: 10")
    assert image_colours(page, "img.cs-difference") > 5
    expect(page.locator(".cs-compare")).to_contain_text("Week 10, branched at week 5")
    assert page.locator(".cs-arm").get_by_text("main run").is_visible()
    page.locator(".cs-arm").get_by_text("main run").click()
    expect(page.locator(".cs-lever-arm")).to_have_text("moving: main run")
    # the main run's stance did not move
    expect(page.locator(".cs-moving-main .cs-monitor-stance")).to_have_text(
        f"regulator stance {main_stance:.2f}"
    )
    page.locator(".cs-arm").get_by_text("branch").click()
    expect(page.locator(".cs-lever-arm")).to_have_text("moving: branch")


INTERVAL_CELL = re.compile(r"\[-?[\d.e+-]+, -?[\d.e+-]+\]")


def test_replicate_pairs_run_in_the_background_and_put_an_interval_on_the_difference(
    browser_page,
):
    page = browser_page
    assert not INTERVAL_CELL.search(text(page, ".cs-compare"))  # one twin pair: no interval
    before = image_colours(page, "img.cs-difference")
    pairs = page.locator(".cs-pairs-count input")
    pairs.fill("4")
    pairs.press("Enter")
    expect(page.locator(".cs-pairs-to input")).to_have_value("10")
    button(page, "Run replicate pairs in the background").click()
    expect(page.locator(".cs-pairs-progress")).to_contain_text("of 4 replicate pairs done")
    # the page answers while they run: switching the arm the levers move is a server round trip
    page.locator(".cs-arm").get_by_text("main run").click()
    expect(page.locator(".cs-lever-arm")).to_have_text("moving: main run")
    page.locator(".cs-arm").get_by_text("branch").click()
    expect(page.locator(".cs-lever-arm")).to_have_text("moving: branch")
    expect(page.locator(".cs-pairs-done")).to_contain_text(
        "4 of 4 replicate pairs done (seeds 1..4, each to week 10)", timeout=120_000
    )
    expect(page.locator(".cs-compare")).to_contain_text("95% interval")
    cells = INTERVAL_CELL.findall(text(page, ".cs-compare"))
    assert len(cells) == len(MEASURES), text(page, ".cs-compare")  # one for each measure
    page.wait_for_function(
        "([s, n]) => (" + COUNT_COLOURS + ")(s) > n", arg=["img.cs-difference", before]
    )  # the shaded bands add colours to the difference picture
    page.locator("img.cs-difference").evaluate("picture => picture.scrollIntoView()")
    page.screenshot(path=str(ARTIFACTS / "viz-replicates-1366x768.png"))
    page.evaluate("window.scrollTo(0, 0)")


def test_download_is_both_arms_as_run_folders_that_cascades_reads(browser_page, tmp_path):
    page = browser_page
    with page.expect_download(timeout=60_000) as download:
        page.locator(".cs-download-run button, .cs-download-run a").first.click()
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        archive.extractall(tmp_path)
    folders = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert [f.name for f in folders] == [
        "three-trusts-seed1-week10",
        "three-trusts-seed1-week10-branch-from-week5",
    ]
    for folder in folders:
        shown = subprocess.run(
            [sys.executable, "-m", "culturesim", "cascades", str(folder)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert shown.returncode == 0, shown.stderr
        assert "cascades in" in shown.stdout
    main, branch = (pd.read_parquet(f / "timeseries.parquet") for f in folders)
    assert len(main) == len(branch) == 10
    before, after = main["week"] < 5, main["week"] >= 5
    pd.testing.assert_frame_equal(main[before], branch[before])  # drivers and measures alike
    assert (branch.loc[after, "stance"] < main.loc[after, "stance"]).all()
    measures = list(MEASURES)
    assert (main.loc[after, measures] != branch.loc[after, measures]).any().any()


def test_a_directorate_and_a_person_show_their_lineage(browser_page):
    page = browser_page
    open_tab(page, "Organisation")
    choose(page, ".cs-directorate", 1)
    expect(page.locator(".cs-org-trust")).to_contain_text("directorate 2 ")  # drawn by the server
    choose(page, ".cs-person", 0)
    lineage = page.locator(".cs-lineage")
    expect(lineage).to_contain_text("bullied by:")
    post = re.search(r"post (\d+)", page.locator(".cs-person").inner_text()).group(1)
    expect(lineage).to_contain_text(f"post {post}")
    assert re.search(r"(bullied by|bullied): post \d+", lineage.inner_text())
    assert image_colours(page, "img.cs-org-view") > 5
    assert image_colours(page, "img.cs-history") > 5


def option_texts(page, select: str) -> list[str]:
    page.locator(select).click()
    owner = page.locator(f"{select} [aria-owns]").first
    items = page.locator(f"#{owner.get_attribute('aria-owns')} .v-list-item")
    items.first.wait_for()
    texts = items.all_inner_texts()
    page.keyboard.press("Escape")
    return [t.strip() for t in texts]


def click_person(page, picture: views.DirectoratePicture, post: int) -> None:
    """Click the organisation picture where `post` is drawn (the page draws the same layout)."""
    x, y = picture.place_of(post)
    box = page.locator("img.cs-org-view").bounding_box()
    page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])


def test_clicking_a_drawn_person_shows_their_lineage_and_history(browser_page, scenario_file):
    page = browser_page
    # the same organisation as the page's (same scenario and seed), to know where each is drawn
    model = VizModel(load_scenario(scenario_file))
    director = pictures.directors(model, 0)[1][0]
    picture = views.DirectoratePicture(model.org, views.directorate_posts(model.org, director), "")
    listed = option_texts(page, ".cs-person")
    post = int(re.match(r"post (\d+)", listed[1]).group(1))  # not the one chosen before
    page.locator("img.cs-org-view").scroll_into_view_if_needed()
    click_person(page, picture, post)
    expect(page.locator(".cs-person")).to_contain_text(f"post {post} (")
    expect(page.locator(".cs-lineage")).to_contain_text(f" in post {post} (")
    expect(page.locator(".cs-focus")).to_contain_text("chosen person")  # their history below
    assert re.search(r"(bullied by|bullied): post \d+", text(page, ".cs-lineage"))
    assert image_colours(page, "img.cs-org-view") > 5
    page.locator(".cs-lineage").evaluate("lines => lines.scrollIntoView()")
    page.screenshot(path=str(ARTIFACTS / "viz-person-1366x768.png"))
    # anyone drawn can be clicked, not only those in the list: the director
    click_person(page, picture, director)
    expect(page.locator(".cs-lineage")).to_contain_text(f" in post {director} (")
    expect(page.locator(".cs-person")).to_contain_text(f"post {director} (")
    page.evaluate("window.scrollTo(0, 0)")


def test_national_view_shows_three_trusts_and_a_click_opens_one(browser_page):
    page = browser_page
    open_tab(page, "National view")
    expect(page.locator(".cs-trust-tile")).to_have_count(3)
    page.locator(".cs-trust-2").click()
    expect(page.locator(".cs-org-trust")).to_contain_text("trust 2, directorate 1 ")
    assert image_colours(page, "img.cs-org-view") > 5


def test_the_largest_live_cascade_animates_over_recent_weeks(browser_page):
    page = browser_page
    open_tab(page, "Cascades")
    now = week(page)
    expect(page.locator(".cs-cascade-as-of")).to_have_text(f"as of week {now - 1}")
    assert image_colours(page, "img.cs-cascade") > 5
    page.locator(".cs-animate").click()
    seen: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = int(text(page, ".cs-cascade-as-of").split()[-1])
        if not seen or seen[-1] != shown:
            seen.append(shown)
        if len(seen) > 2 and shown == now - 1:
            break
        page.wait_for_timeout(100)
    assert len(seen) >= 4, seen  # it went through the weeks ...
    assert seen[1:] == sorted(seen[1:]) and seen[-1] == now - 1, seen  # ... in order, to now
    expect(page.locator(".cs-animate")).to_contain_text("Animate")


def test_screenshots_at_two_window_sizes(browser_page):
    page = browser_page
    shown_by = {
        "Outcomes over time": "img.cs-plots",
        "Organisation": "img.cs-org-view",
        "Cascades": "img.cs-cascade",
        "National view": ".cs-national",
    }
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        for tab, content in shown_by.items():
            open_tab(page, tab)
            expect(page.locator(content)).to_be_visible(timeout=STEP_TIMEOUT_MS)
            if content.startswith("img"):
                image_colours(page, content)
            page.wait_for_timeout(700)  # the tab's slide-in animation
            name = tab.split()[0].lower()
            page.screenshot(path=str(ARTIFACTS / f"viz-{name}-{size}.png"))
        assert (ARTIFACTS / f"viz-outcomes-{size}.png").stat().st_size > 10_000
    page.set_viewport_size({"width": 1366, "height": 768})
    open_tab(page, "Outcomes over time")


def test_play_runs_and_pause_stops(browser_page):
    page = browser_page
    start = week(page)
    button(page, "Play").click()
    wait_for_week(page, start + 2)
    button(page, "Pause").click()
    expect(button(page, "Step a week")).to_be_enabled(timeout=STEP_TIMEOUT_MS)
    paused = week(page)
    time.sleep(1.5)
    assert week(page) in (paused, paused + 1), "Play kept stepping after Pause"


def test_starting_again_builds_another_scenario_in_the_background(browser_page):
    page = browser_page
    choose(page, ".cs-scenario-pick", "punitive-regulator")
    seed_box = page.get_by_label("seed (blank: the scenario's own)")
    seed_box.fill("7")
    button(page, "Start again from week 0").click()
    page.wait_for_function(
        "n => document.querySelector('.cs-scenario')?.textContent === n",
        arg="Scenario: punitive-regulator",
        timeout=START_TIMEOUT_S * 1000,
    )
    expect(page.locator(".cs-week")).to_have_text("Week 0")
    expect(page.locator(".cs-seed")).to_have_text("seed 7")
    expect(page.locator(".cs-branch-week")).to_have_count(0)
    step(page, 1)
