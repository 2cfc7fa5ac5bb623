"""Shared fixtures: the shipped image tasks, and untrained stages for contract tests."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def shipped():
    """``{dataset: ImageTask}`` on the shipped checkpoints, on the CPU."""
    from regenlab import get_task

    return {ds: get_task("image", ds, device=torch.device("cpu")) for ds in ("shapes", "digits")}


@pytest.fixture(scope="session")
def shipped_eval(shipped):
    """The evaluation the README reports, measured once per session."""
    return {ds: task.evaluate(n_per_class=50, seed=0) for ds, task in shipped.items()}


@pytest.fixture(scope="session")
def tts_eval():
    """The speech task's evaluation on 40 held-out utterances, measured once per session."""
    from regenlab import get_task

    return get_task("tts", device=torch.device("cpu")).evaluate(n_per_class=40, seed=0)
