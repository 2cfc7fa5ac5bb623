"""The training loop: loss goes down, checkpoints are atomic, a stopped run resumes exactly."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from regenlab.data.images import load_images
from regenlab.models import ConvClassifier
from regenlab.train import FitConfig, Stopped, fit
from regenlab.zoo import load_checkpoint


def _setup():
    data = load_images("digits", "train")

    def draw(g, b):
        i = torch.randint(0, len(data.labels), (b,), generator=g)
        return data.images[i], data.labels[i]

    torch.manual_seed(0)
    return ConvClassifier(1, 8, 10, width=8, feat_dim=16), draw


def test_fit_lowers_loss_and_writes_checkpoint(tmp_path):
    model, draw = _setup()
    rec = fit(model, draw, FitConfig(steps=60, batch_size=32, lr=3e-3, warmup=5), tmp_path / "clf")
    first, last = rec["curve"][0][1], rec["curve"][-1][1]
    assert last < first
    assert (tmp_path / "clf.safetensors").exists() and (tmp_path / "clf.json").exists()
    assert not (tmp_path / "clf.resume.pt").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], (
        "no temp files left"
    )
    record = json.loads((tmp_path / "clf.json").read_text())
    assert record["class"] == "ConvClassifier" and record["meta"]["steps_done"] == 60
    reloaded = load_checkpoint(tmp_path / "clf")
    x = torch.rand(4, 1, 8, 8)
    assert torch.allclose(reloaded(x), model(x))


def test_stopped_run_resumes_to_the_same_weights(tmp_path):
    cfg = FitConfig(steps=40, batch_size=16, lr=3e-3, warmup=5, save_every=10)
    model, draw = _setup()
    fit(model, draw, cfg, tmp_path / "a" / "clf")
    straight = load_file(str(tmp_path / "a" / "clf.safetensors"))

    model, draw = _setup()
    calls = {"n": 0}

    def stop_after_25():
        calls["n"] += 1
        return calls["n"] > 25

    with pytest.raises(Stopped):
        fit(model, draw, cfg, tmp_path / "b" / "clf", should_stop=stop_after_25)
    assert (tmp_path / "b" / "clf.resume.pt").exists()
    assert not (tmp_path / "b" / "clf.safetensors").exists()
    model, draw = _setup()
    rec = fit(model, draw, cfg, tmp_path / "b" / "clf")
    assert rec["steps_done"] == 40
    resumed = load_file(str(tmp_path / "b" / "clf.safetensors"))
    for k in straight:
        assert torch.allclose(straight[k], resumed[k], atol=1e-6), k


def test_time_budget_stops_early(tmp_path):
    model, draw = _setup()
    rec = fit(
        model, draw, FitConfig(steps=100_000, batch_size=8, max_seconds=0.5), tmp_path / "clf"
    )
    assert 0 < rec["steps_done"] < 100_000 and rec["seconds"] >= 0.5


def test_nan_loss_raises(tmp_path):
    model, draw = _setup()

    def bad(g, b):
        x, y = draw(g, b)
        return x * float("nan"), y

    with pytest.raises(FloatingPointError):
        fit(model, bad, FitConfig(steps=3, batch_size=4), tmp_path / "clf")
