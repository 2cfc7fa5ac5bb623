"""The registry, the device choice and the Trace record."""

from __future__ import annotations

import json

import pytest
import torch

from regenlab import default_device, task_names
from regenlab.core import task_spec


def test_registry_lists_the_image_task():
    assert "image" in task_names()
    assert task_spec("image").datasets == ("shapes", "digits")


def test_device_override(monkeypatch):
    monkeypatch.setenv("REGENLAB_DEVICE", "cpu")
    assert default_device() == torch.device("cpu")
    monkeypatch.delenv("REGENLAB_DEVICE")
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    assert default_device().type == expected


def test_device_override_unavailable(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("CUDA is present")
    monkeypatch.setenv("REGENLAB_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        default_device()


def test_trace_is_json_and_reproducible(shipped):
    pipe = shipped["digits"].pipelines["vq"]
    a, b = pipe.sample([1, 7], n=3, seed=11), pipe.sample([1, 7], n=3, seed=11)
    assert torch.equal(a.y, b.y)
    record = json.loads(a.to_json())
    assert (
        record["x"] == [1, 7] and record["seed"] == 11 and record["y_prime"]["shape"] == [6, 4, 4]
    )
    assert set(record["seconds"]) == {"prior", "renderer"}
