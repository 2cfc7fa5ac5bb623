"""Checkpoints: safetensors weights with their config JSON beside them; shipped and user sets.

Shipped checkpoints live in ``assets/checkpoints/<task>/<dataset>/<stage>.{safetensors,json}``.
A user's own live in ``$REGENLAB_HOME/checkpoints/...`` (default ``~/.cache/regenlab``), and
nothing the lab writes ever lands in the shipped folder unless asked for by path.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[1]


def shipped_root() -> Path:
    """Where the shipped checkpoints are (``REGENLAB_ASSETS`` overrides)."""
    return Path(os.environ.get("REGENLAB_ASSETS", REPO_ROOT / "assets")) / "checkpoints"


def lab_home() -> Path:
    """The user's lab folder: ``REGENLAB_HOME``, default ``~/.cache/regenlab``."""
    return Path(os.environ.get("REGENLAB_HOME") or Path.home() / ".cache" / "regenlab")


def user_root() -> Path:
    """Where a user's own checkpoints go: ``lab_home()/checkpoints``."""
    return lab_home() / "checkpoints"


def checkpoint_dir(task: str, source: str | Path, dataset: str) -> Path:
    """A task's checkpoint set on ``dataset``: ``shipped``, ``user``, or a folder holding
    ``<dataset>/<stage>.safetensors``."""
    if source == "shipped":
        root = shipped_root() / task
    elif source == "user":
        root = user_root() / task
    else:
        root = Path(source)
    return root / dataset


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(model: nn.Module, path: Path, meta: dict[str, Any]) -> None:
    """``path``.safetensors (weights) and ``path``.json (class, config, training meta)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".safetensors")
    os.close(fd)
    try:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, tmp)
        os.replace(tmp, path.with_suffix(".safetensors"))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    record = {"class": type(model).__name__, "config": model.config, "meta": meta}
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(record, indent=1).encode())


def read_record(path: Path) -> dict[str, Any]:
    """The JSON record beside a checkpoint."""
    return json.loads(Path(path).with_suffix(".json").read_text())


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> nn.Module:
    """Rebuild the module from its JSON record and load its safetensors weights (eval mode)."""
    from regenlab.models import MODELS

    path = Path(path)
    if not path.with_suffix(".safetensors").exists():
        raise FileNotFoundError(f"no checkpoint at {path.with_suffix('.safetensors')}")
    record = read_record(path)
    model = MODELS[record["class"]](**record["config"])
    model.load_state_dict(load_file(str(path.with_suffix(".safetensors"))))
    return model.to(device).eval()
