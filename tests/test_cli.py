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


def test_sample_tts_writes_wavs_and_trace(tmp_path):
    import soundfile as sf

    args = [
        "sample",
        "tts",
        "--text",
        "good morning",
        "--n",
        "2",
        "--seed",
        "3",
        "--temperature",
        "0.7",
    ]
    assert main([*args, "--out", str(tmp_path)]) == 0
    wavs = sorted(tmp_path.glob("*.wav"))
    assert len(wavs) == 2
    audio, rate = sf.read(wavs[0])
    assert rate == 22050 and len(audio) > 2048
    trace = json.loads((tmp_path / "trace.json").read_text())
    assert trace["x"] == ["good morning"] and trace["y_prime"]["shape"][:2] == [2, 80]


@pytest.mark.parametrize(
    "text, message", [("", "empty"), ("?!", "pronounceable"), ("a" * 501, "too long")]
)
def test_tts_text_errors_are_clear(text, message, capsys, tmp_path):
    assert main(["sample", "tts", "--text", text, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_train_tts_smoke_then_eval(tmp_path, capsys):
    root = tmp_path / "ckpt"
    assert main(["train", "tts", "--preset", "smoke", "--out", str(root)]) == 0
    out = tmp_path / "eval.json"
    args = ["eval", "tts", "--checkpoints", str(root), "--n-per-class", "2", "--json", str(out)]
    assert main(args) == 0
    res = json.loads(out.read_text())["espeak"]
    assert set(res["conversions"]) == {"mel", "linear", "mfcc"}
    assert {"griffin_lim_32", "vocoder"} <= set(res["renderers"])
    assert {"stoi", "mel_l1"} <= set(res["pipeline"]) and {"stoi", "mel_l1"} <= set(res["direct"])
    assert "vocoder" in capsys.readouterr().out
