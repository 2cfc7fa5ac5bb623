"""A real Chromium walks the five steps for every registered task and data set.

It asserts that plots, images (and audio players or text, by the task's y_kind) are visible and
not empty, that every audio player shown actually plays, moves back and forth between steps, and saves a screenshot of every step to
tests/artifacts/ (git-ignored). With REGENLAB_UPDATE_SCREENSHOT=1 the Compare step of the first
task is also copied to assets/screenshot.png.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest_app import all_choices, artifacts_dir, server_url

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
TIMEOUT_MS = 60_000


def chromium_path() -> str | None:
    for p in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser",
              shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")):  # fmt: skip
        if p and Path(p).is_file():
            return p
    return None


@pytest.fixture(scope="module")
def page():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    exe = chromium_path()
    if exe is None:
        pytest.skip(
            "no Chromium found (install it with `apt-get install chromium`, or set CHROMIUM=path)"
        )
    url = server_url()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        pg.set_default_timeout(TIMEOUT_MS)
        pg.app_url = url
        yield pg
        browser.close()


# ------------------------------------------------------------------------------ helpers


def pick(page, elem_id: str, value: str) -> None:
    """Choose ``value`` in the Gradio dropdown ``#elem_id`` (no-op if already chosen)."""
    box = page.locator(f"#{elem_id} input")
    if box.input_value() == value:
        return
    box.click()
    page.get_by_role("option", name=value, exact=True).click()
    page.wait_for_function(f"document.querySelector('#{elem_id} input').value === {value!r}")


def plot_ok(page, elem_id: str) -> None:
    """A plotly plot with at least one drawn trace inside ``#elem_id``."""
    page.wait_for_function(
        f"""() => {{ const p = document.querySelector('#{elem_id} .js-plotly-plot');
                 return p && p.data && p.data.length > 0 && p.querySelector('.main-svg'); }}""",
        timeout=TIMEOUT_MS,
    )
    box = page.locator(f"#{elem_id} .js-plotly-plot").first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, box


def y_ok(page, prefix: str, y_kind: str) -> None:
    """The Y view ``prefix`` shows a loaded image, an audio player, or text, by y_kind."""
    if y_kind == "image":
        img = page.locator(f"#{prefix}-image img").first
        img.wait_for(state="visible")
        page.wait_for_function(
            f"() => {{ const i = document.querySelector('#{prefix}-image img');"
            " return i && i.complete && i.naturalWidth > 0 && i.naturalHeight > 0; }",
            timeout=TIMEOUT_MS,
        )
    elif y_kind == "audio":
        page.locator(f"#{prefix}-audio").wait_for(state="visible")
        page.wait_for_function(
            f"() => {{ const a = document.querySelector('#{prefix}-audio audio');"
            " return a && a.src && a.src.length > 0; }",
            timeout=TIMEOUT_MS,
        )
    else:
        page.wait_for_function(
            f"() => {{ const t = document.querySelector('#{prefix}-text textarea'); return t && t.value.length > 0; }}",
            timeout=TIMEOUT_MS,
        )


PLAY_JS = """async (sel) => {
    const a = document.querySelector(sel);
    if (!a) return {error: 'no <audio> element'};
    const within = (ms, what, p) => Promise.race([p, new Promise((_, no) =>
        setTimeout(() => no(new Error(what + ' timed out')), ms))]);
    const once = (ev) => new Promise((ok, no) => {
        a.addEventListener(ev, ok, {once: true});
        a.addEventListener('error', () => no(new Error('media error ' + (a.error && a.error.code))), {once: true});
    });
    if (a.readyState < 1) await within(20000, 'metadata', once('loadedmetadata'));
    a.muted = true;
    a.currentTime = 0;
    const advanced = within(20000, 'playback', new Promise((ok) => {
        const check = () => { if (a.currentTime > 0) ok(); };
        a.addEventListener('timeupdate', check);
        a.addEventListener('playing', () => setTimeout(check, 200));
    }));
    await a.play();
    await advanced;
    a.pause();
    return {src: a.src, duration: a.duration, currentTime: a.currentTime, paused: a.paused};
}"""


def audio_plays(page, prefix: str) -> dict:
    """The audio player of the Y view ``prefix`` has a source of positive duration, and plays
    (muted: headless Chromium allows that without a user gesture) until its time advances."""
    state = page.evaluate(PLAY_JS, f"#{prefix}-audio audio")
    assert "error" not in state, state
    assert state["src"] and state["duration"] > 0 and state["currentTime"] > 0, state
    return state


def on_step(page, k: int) -> None:
    page.locator(f"#step{k}").wait_for(state="visible")


def shot(page, name: str) -> Path:
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


# ------------------------------------------------------------------------------ the walk


@pytest.mark.parametrize("task,dataset", all_choices())
def test_walk_all_five_steps(page, task, dataset):
    from app import handlers

    info = handlers.choose(task, dataset, "shipped", None)
    yk, tag = info["y_kind"], f"{task}-{dataset}"
    page.goto(page.app_url)  # a fresh page: no output of an earlier walk can satisfy a wait
    page.locator("#card").get_by_text("Keeps").wait_for()
    on_step(page, 1)
    pick(page, "task", task)
    pick(page, "dataset", dataset)
    page.locator("#status").get_by_text(f"on {dataset} with").wait_for()
    last = info["conversions"][-1]
    pick(page, "conversion", last)  # the card follows the conversion
    page.locator("#card").get_by_text(f"Y' = {last}").wait_for()
    if last not in info["pipelines"]:  # a Y' without a prior says so, and what to sample with
        page.locator("#card").get_by_text("No prior is trained").wait_for()
    pick(page, "conversion", info["conversions"][0])
    page.locator("#card").get_by_text(f"Y' = {info['conversions'][0]}").wait_for()
    assert (
        "Keeps" in page.locator("#card").inner_text()
        and "Drops" in page.locator("#card").inner_text()
    )
    shot(page, f"{tag}-1-choose")

    page.locator("#next1").click()  # 2 Inspect: a dataset example, computed on the way in
    on_step(page, 2)
    plot_ok(page, "inspect-yprime")
    y_ok(page, "inspect-y", yk)
    y_ok(page, "inspect-rec", yk)
    stats = page.locator("#inspect-stats").inner_text()
    assert "compression ratio" in stats and "reconstruction error" in stats
    if yk == "audio":
        audio_plays(page, "inspect-y")
        audio_plays(page, "inspect-rec")
    shot(page, f"{tag}-2-inspect")

    page.locator("#next2").click()  # 3 Sample Y'
    on_step(page, 3)
    plot_ok(page, "samples")
    n_traces = page.evaluate("document.querySelector('#samples .js-plotly-plot').data.length")
    assert n_traces >= 2, "samples side by side"
    assert "samples of Y'" in page.locator("#sample-stats").inner_text()
    shot(page, f"{tag}-3-sample")

    page.locator("#next3").click()  # 4 Render Y
    on_step(page, 4)
    y_ok(page, "render-y", yk)
    page.locator("#download-y a").first.wait_for()
    page.locator("#download-trace a").first.wait_for()
    if yk == "audio":
        audio_plays(page, "render-y")
    shot(page, f"{tag}-4-render")

    page.locator("#next4").click()  # 5 Compare
    on_step(page, 5)
    for prefix in ("compare-regen", "compare-direct"):
        y_ok(page, prefix, yk)
        if yk == "audio":
            audio_plays(page, prefix)
    if info["x_kind"] == "class":
        y_ok(page, "compare-true", yk)
        y_ok(page, "compare-from-true", yk)
    page.locator("#metrics").get_by_text("regeneration").filter(visible=True).first.wait_for()
    path = shot(page, f"{tag}-5-compare")
    if os.environ.get("REGENLAB_UPDATE_SCREENSHOT") == "1" and (task, dataset) == all_choices()[0]:
        shutil.copyfile(path, Path(__file__).resolve().parents[1] / "assets" / "screenshot.png")

    # back and forth: Back buttons, Next again, then an earlier step's own header
    page.locator("#back5").click()
    on_step(page, 4)
    page.locator("#back4").click()
    on_step(page, 3)
    page.locator("#next3").click()
    on_step(page, 4)
    y_ok(page, "render-y", yk)
    page.locator("#step1-button").click()
    on_step(page, 1)
    assert page.locator("#card").is_visible()
