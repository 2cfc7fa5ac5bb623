"""The app's API through gradio_client: every endpoint, for every registered task, and bad input.

Each bad input must come back as an error with a readable message, and a good call right after
it must still succeed (the app stays up). Assertions are on structure, never on sample quality,
so the tests pass on smoke checkpoints and on the shipped ones alike.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest
from conftest_app import all_choices, server_url

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from app import handlers  # noqa: E402


@pytest.fixture(scope="module")
def url() -> str:
    return server_url()


@pytest.fixture(scope="module")
def client(url) -> Client:
    return Client(url, analytics_enabled=False, verbose=False)


def x_args(info: dict, wav: Path) -> list:
    """(x_class, x_text, x_audio) for the task's x_kind."""
    kind = info["x_kind"]
    return [
        info["classes"][0] if kind == "class" else None,
        "a short test sentence" if kind == "text" else "",
        handle_file(str(wav)) if kind == "audio" else None,
    ]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Good and bad uploads, written once."""
    import soundfile as sf
    from PIL import Image

    d = tmp_path_factory.mktemp("uploads")
    f = {}
    rng = np.random.default_rng(0)
    f["png"] = d / "good.png"
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(f["png"])
    f["wav"] = d / "good.wav"
    sf.write(str(f["wav"]), (0.1 * np.sin(np.arange(8000) / 5)).astype(np.float32), 8000)
    f["wide"] = d / "wide.png"  # 4097 pixels wide: refused from the header
    Image.new("RGB", (4097, 2)).save(f["wide"])
    f["text_as_image"] = d / "notes.png"
    f["text_as_image"].write_text("not an image at all")
    f["truncated"] = d / "truncated.png"
    full = d / "full.png"
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(full)
    f["truncated"].write_bytes(full.read_bytes()[:300])
    f["nan_tiff"] = d / "nan.tiff"
    a = np.full((16, 16), np.nan, np.float32)
    Image.fromarray(a, mode="F").save(f["nan_tiff"])
    f["long_wav"] = d / "long.wav"  # 31 s
    sf.write(str(f["long_wav"]), np.zeros(31 * 8000, np.float32), 8000)
    f["big"] = d / "big.png"  # over 20 MB
    f["big"].write_bytes(b"\x89PNG" + b"\0" * (20 * 2**20 + 16))
    return f


def good_y(info: dict, files: dict) -> list:
    """(y_file, y_audio, y_text) for the task's y_kind."""
    kind = info["y_kind"]
    return [
        handle_file(str(files["png"])) if kind == "image" else None,
        handle_file(str(files["wav"])) if kind == "audio" else None,
        "some text" if kind == "text" else "",
    ]


def y_slot(out: tuple, info: dict, start: int = 0):
    """The value of the y_kind slot in a (image, audio, text) triple starting at ``start``."""
    return out[start + ("image", "audio", "text").index(info["y_kind"])]


def nonempty_file(path) -> bool:
    return path is not None and Path(path).is_file() and Path(path).stat().st_size > 0


def shown_y(out: tuple, info: dict, start: int = 0) -> None:
    """The Y view starting at ``start`` shows something; audio is a readable, finite, non-empty
    WAV with samples in [-1, 1] (what a browser can play)."""
    value = y_slot(out, info, start)
    assert nonempty_file(value) or value
    if info["y_kind"] == "audio":
        import soundfile as sf

        wav, rate = sf.read(value, dtype="float32")
        assert rate > 0 and len(wav) > 0 and np.isfinite(wav).all()
        assert np.abs(wav).max() <= 1.0


# ------------------------------------------------------------------------------ every endpoint


def test_api_lists_every_event(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    want = {"/choose", "/inspect_example", "/inspect_upload", "/sample", "/render", "/compare",
            "/train", "/cancel_train", "/train_status"} | {f"/goto_step{k}" for k in range(1, 6)}  # fmt: skip
    assert want <= names, want - names


@pytest.mark.parametrize("task,dataset", all_choices())
def test_walkthrough_endpoints(client, files, task, dataset):
    info = handlers.choose(task, dataset, "shipped", None)
    out = client.predict(task, dataset, "shipped", None, None, api_name="/choose")
    assert out[2]["value"] == info["conversion"] and "Keeps" in out[3]
    for k in range(1, 6):
        client.predict(api_name=f"/goto_step{k}")  # navigation events answer without error
    x = x_args(info, files["wav"])
    assert info["conversion"] in info["pipelines"], "the default conversion can be sampled"
    for conv in info["conversions"]:
        common = [task, dataset, "shipped", conv]
        out = client.predict(task, dataset, "shipped", conv, None, api_name="/choose")
        assert f"Y' = `{conv}`" in out[3] and "Keeps" in out[3], "every conversion has a card"
        out = client.predict(*common, 3, api_name="/inspect_example")
        shown_y(out, info)
        assert out[3]["type"] == "plotly" and json.loads(out[3]["plot"])["data"]
        shown_y(out, info, 4)
        assert "compression ratio" in out[7] and "reconstruction error" in out[7]
        out = client.predict(*common, *good_y(info, files), api_name="/inspect_upload")
        assert out[3]["type"] == "plotly" and "compression ratio" in out[7]
        rends = handlers.choose(task, dataset, "shipped", conv)["renderers"]
        assert rends, f"Y' = {conv} can be rendered"
        if conv not in info["pipelines"]:  # inspect only: sampling says why not, and what to pick
            for api in ("/sample", "/compare"):
                expect_error(client, [*common, *x, 3, 1.0, 7], api, "no prior", conv)
            expect_error(client, [*common, *x, 3, 1.0, 7, rends[0]], "/render", "no prior")
            continue
        out = client.predict(*common, *x, 3, 1.0, 7, api_name="/sample")
        fig = json.loads(out[0]["plot"])
        assert len(fig["data"]) >= 3, "three samples side by side"
        for rend in rends:
            out = client.predict(*common, *x, 3, 1.0, 7, rend, api_name="/render")
            shown_y(out, info)
            assert nonempty_file(out[3]) and nonempty_file(out[4])
            trace = json.loads(Path(out[4]).read_text())
            assert trace["seed"] == 7 and trace["n"] == 3 and trace["y_prime"]["shape"][0] == 3
            assert {"task", "dataset", "x", "temperature", "metrics", "renderer"} <= set(trace)
            assert trace["renderer"] == rend
    out = client.predict(
        task, dataset, "shipped", info["conversion"], *x, 3, 1.0, 7, api_name="/compare"
    )
    for i in (0, 3):  # regeneration and direct
        shown_y(out, info, i)
    table = out[12]
    assert len(table["data"]) == 2 and len(table["headers"]) >= 2
    record = json.loads(Path(out[14]).read_text())
    assert set(record["metrics"]) == {"regeneration", "direct"}


def test_same_seed_same_samples(client):
    task, dataset = all_choices()[0]
    info = handlers.choose(task, dataset, "shipped", None)
    args = [
        task,
        dataset,
        "shipped",
        info["conversions"][0],
        *x_args(info, Path("/nonexistent")),
        2,
        1.0,
        11,
    ]
    a = client.predict(*args, api_name="/sample")[0]["plot"]
    b = client.predict(*args, api_name="/sample")[0]["plot"]
    assert a == b


# ------------------------------------------------------------------------------ bad input


def expect_error(client, args, api_name, *words):
    with pytest.raises(Exception) as err:  # noqa: B017  (AppError, or the client's own refusal)
        client.predict(*args, api_name=api_name)
    msg = str(err.value).lower()
    assert msg.strip(), "an error must carry a message"
    assert any(w.lower() in msg for w in words), f"{api_name}: {msg!r} lacks any of {words}"


def test_bad_inputs_get_errors_and_the_app_stays_up(client, files):
    from app import training

    task, dataset = all_choices()[0]
    info = handlers.choose(task, dataset, "shipped", None)
    conv = info["conversions"][0]
    common = [task, dataset, "shipped", conv]
    x = x_args(info, files["wav"])
    good_sample = [*common, *x, 2, 1.0, 0]

    def still_up():
        out = client.predict(*good_sample, api_name="/sample")
        assert json.loads(out[0]["plot"])["data"]

    up = lambda f: handle_file(str(files[f]))  # noqa: E731
    cases = [
        (
            [*common, None, None, ""],
            "/inspect_upload",
            "no image",
            "no audio",
            "type some text",
            "upload",
        ),
        ([*common, up("wide"), None, ""], "/inspect_upload", "4096"),
        ([*common, up("text_as_image"), None, ""], "/inspect_upload", "not an image"),
        ([*common, up("truncated"), None, ""], "/inspect_upload", "corrupted", "truncated"),
        ([*common, up("nan_tiff"), None, ""], "/inspect_upload", "nan"),
        ([*common, None, up("long_wav"), ""], "/inspect_upload", "30 s"),
        ([*common, up("big"), None, ""], "/inspect_upload", "maximum file size", "20 mb"),
        ([*common, None, None, "x" * 501], "/inspect_upload", "500"),
        ([*common, x[0], "y" * 501, x[2]], "/sample", "500"),
        (
            [*common, "", "", None, 2, 1.0, 0],
            "/sample",
            "choose a class",
            "type some text",
            "upload",
        ),
        ([*common, "no such class", "", None, 2, 1.0, 0], "/sample", "unknown class", "no such"),
        ([*common, *x, 0, 1.0, 0], "/sample", "minimum", "number of samples"),
        ([*common, *x, 2, 9.0, 0], "/sample", "maximum", "temperature"),
        ([*common, *x, 2, float("nan"), 0], "/sample", "nan", "json", "temperature"),
        ([*common, *x, 2, 1.0, -5], "/sample", "minimum", "seed"),
        (
            [task, dataset, "shipped", "no-such-conversion", *x, 2, 1.0, 0],
            "/sample",
            "unknown conversion",
        ),
        (["no-such-task", dataset, "shipped", conv, 0], "/inspect_example", "unknown task"),
        ([task, "no-such-data", "shipped", conv, 0], "/inspect_example", "no data set"),
        ([*common, 10_000], "/inspect_example", "example index", "maximum"),
        ([*good_sample, "no such renderer"], "/render", "unknown renderer"),
        ([task, dataset, "no-such-stage", "smoke", False], "/train", "unknown stage"),
        (
            [task, dataset, (training.stages(task) or ["none"])[0], "huge", False],
            "/train",
            "preset",
            "not in the list",
        ),
    ]
    for args, api_name, *words in cases:
        expect_error(client, args, api_name, *words)
        still_up()


def text_x_choices() -> list[tuple[str, str]]:
    """(task, dataset) of the tasks whose X is a text."""
    return [c for c in all_choices() if handlers.choose(*c, "shipped", None)["x_kind"] == "text"]


@pytest.mark.parametrize("task,dataset", text_x_choices())
def test_bad_text_gets_an_error_and_the_app_stays_up(client, task, dataset):
    info = handlers.choose(task, dataset, "shipped", None)
    common = [task, dataset, "shipped", info["conversion"]]
    cases = [("", ("type some text",)), ("x" * 501, ("500",)), ("   ", ("type some text",)),
             ("!!! 123", ("no letters", "pronounceable"))]  # fmt: skip
    for text, words in cases:
        for api in ("/sample", "/compare"):
            expect_error(client, [*common, None, text, None, 2, 1.0, 0], api, *words)
        expect_error(client, [*common, None, text, None, 2, 1.0, 0, None], "/render", *words)
        out = client.predict(*common, None, "still up", None, 1, 1.0, 0, api_name="/sample")
        assert json.loads(out[0]["plot"])["data"]


def _raw_call(url: str, api_name: str, body: str) -> str:
    """POST a raw JSON body (which may hold NaN) to /gradio_api/call and read the SSE answer."""
    import httpx

    r = httpx.post(
        f"{url}gradio_api/call/{api_name}",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    if r.status_code != 200:
        return f"HTTP {r.status_code} {r.text}"
    event = r.json()["event_id"]
    return httpx.get(f"{url}gradio_api/call/{api_name}/{event}", timeout=60).text


def test_nan_reaching_the_server_gets_a_clear_error(url, client, files):
    task, dataset = all_choices()[0]
    info = handlers.choose(task, dataset, "shipped", None)
    if info["x_kind"] != "class":
        pytest.skip("raw-body NaN test written for class inputs")
    head = json.dumps(
        [task, dataset, "shipped", info["conversions"][0], info["classes"][0], "", None, 2]
    )
    for tail in ("NaN, 0", "1.0, NaN", "Infinity, 0"):
        answer = _raw_call(url, "sample", '{"data": ' + head[:-1] + ", " + tail + "]}")
        assert "error" in answer.lower(), answer
        low = answer.lower()
        assert any(w in low for w in ("temperature", "seed", "maximum", "http 4")), answer
    out = client.predict(
        task,
        dataset,
        "shipped",
        info["conversions"][0],
        info["classes"][0],
        "",
        None,
        2,
        1.0,
        0,
        api_name="/sample",
    )
    assert json.loads(out[0]["plot"])["data"]


def test_server_refuses_uploads_over_the_limit(url):
    import httpx

    big = b"\0" * (20 * 2**20 + 1024)
    r = httpx.post(
        f"{url}gradio_api/upload", files={"files": ("big.png", big, "image/png")}, timeout=60
    )
    assert r.status_code >= 400, r.status_code
    r = httpx.post(
        f"{url}gradio_api/upload", files={"files": ("small.png", b"123", "image/png")}, timeout=60
    )
    assert r.status_code == 200


# ------------------------------------------------------------------------------ training


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.glob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("task", sorted({t for t, _ in all_choices()}))
def test_train_saves_a_user_checkpoint_never_over_a_shipped_one(client, task):
    from app import training
    from regenlab import zoo

    dataset = next(d for t, d in all_choices() if t == task)
    stages = training.stages(task)
    if not stages:
        pytest.skip(f"task {task} declares no trainer")
    dataset = "digits" if task == "image" else dataset  # the smallest data set trains in seconds
    shipped = zoo.shipped_root() / task / dataset
    before = _digest(shipped)
    assert zoo.user_root().resolve() != zoo.shipped_root().resolve()
    stage = stages[0]
    plot, status = client.predict(task, dataset, stage, "smoke", False, api_name="/train")
    assert "Saved" in status, status
    assert json.loads(plot["plot"])["data"], "a loss curve"
    user = training.user_dir(task, dataset)
    assert (user / f"{stage}.safetensors").is_file()
    assert all((user / f"{s}.safetensors").is_file() for s in stages), (
        "the set was completed from shipped"
    )
    assert _digest(shipped) == before, "the shipped checkpoints were not touched"
    out = client.predict(task, dataset, "user", None, None, api_name="/choose")
    assert out[1]["value"] == "user", "the own set loads without falling back"
    assert "Your own set" in client.predict(task, dataset, api_name="/train_status")
    assert "No training" in client.predict(api_name="/cancel_train")


def test_train_can_be_cancelled(client):
    from app import training

    task, dataset = all_choices()[0]
    stages = training.stages(task)
    if not stages:
        pytest.skip(f"task {task} declares no trainer")
    stage = "vqvae" if "vqvae" in stages else stages[0]
    job = client.submit(task, dataset, stage, "lab", False, api_name="/train")
    t0 = time.time()
    while not job.outputs() and not job.done() and time.time() - t0 < 120:
        time.sleep(0.2)
    if job.done():
        pytest.skip("this machine trained the stage before it could be cancelled")
    assert "Stopping" in client.predict(api_name="/cancel_train")
    final = job.result(timeout=120)
    assert "Cancelled" in final[1], final[1]
    user = training.user_dir(task, dataset)
    assert (user / f"{stage}.resume.pt").is_file(), "a resume file is kept"
