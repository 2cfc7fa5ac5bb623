"""The ``regenlab`` command: sample, eval, train (smoke preset), and its error messages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image

from regenlab.cli import main


def _sample_digit_3(out) -> int:
    args = ["sample", "image", "--data", "digits", "--class", "3", "--n", "10", "--seed", "7"]
    return main([*args, "--out", str(out)])


def test_sample_writes_pngs_and_trace(tmp_path):
    out = tmp_path / "out"
    assert _sample_digit_3(out) == 0
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 10
    assert Image.open(pngs[0]).size == (8, 8)
    trace = json.loads((out / "trace.json").read_text())
    assert trace["x"] == [3] and trace["seed"] == 7 and trace["n"] == 10
    assert trace["y_prime"]["shape"] == [10, 4, 4] and len(trace["files"]) == 10
    again = tmp_path / "again"
    _sample_digit_3(again)
    same = json.loads((again / "trace.json").read_text())["y_prime"] == trace["y_prime"]
    assert same, "same seed, same Y'"


@pytest.mark.parametrize("conversion", ["vae", "downsample", "direct"])
def test_sample_every_route(tmp_path, conversion):
    args = [
        "sample",
        "image",
        "--data",
        "shapes",
        "--class",
        "star",
        "--n",
        "2",
        "--conversion",
        conversion,
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    assert Image.open(tmp_path / "sample_000.png").size == (32, 32)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["sample", "image", "--data", "shapes", "--class", "hexagon", "--out", "x"],
            "unknown class",
        ),
        (
            ["sample", "image", "--data", "shapes", "--class", "0", "--n", "0", "--out", "x"],
            "n must be",
        ),
        (["sample", "image", "--data", "mnist", "--class", "0", "--out", "x"], "no data set"),
        (["eval", "speech"], "unknown task"),
        (["train", "image", "--preset", "huge", "--out", "x"], "unknown preset"),
    ],
)
def test_errors_are_clear(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_train_smoke_then_eval_json(tmp_path):
    """The whole machinery end to end on tiny budgets: train every stage, then evaluate."""
    root = tmp_path / "ckpt"
    assert (
        main(["train", "image", "--data", "digits", "--preset", "smoke", "--out", str(root)]) == 0
    )
    out = tmp_path / "eval.json"
    assert (
        main(
            [
                "eval",
                "image",
                "--data",
                "digits",
                "--checkpoints",
                str(root / ".." / "ckpt"),
                "--n-per-class",
                "4",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    res = json.loads(out.read_text())["digits"]
    assert set(res["generation"]) == {"vq", "vae", "downsample", "direct"}
    assert set(res["conversions"]) == {"vq", "vae", "downsample"}


def test_console_script_help():
    done = subprocess.run(
        [sys.executable, "-m", "regenlab.cli", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "train" in done.stdout and "sample" in done.stdout
