"""Where tensors live: CUDA, then MPS, then CPU; REGENLAB_DEVICE overrides."""

from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    """The device the lab computes on (``REGENLAB_DEVICE=cpu|cuda|mps`` overrides)."""
    wanted = os.environ.get("REGENLAB_DEVICE", "").strip()
    if wanted:
        dev = torch.device(wanted)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"REGENLAB_DEVICE={wanted!r} but CUDA is not available")
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"REGENLAB_DEVICE={wanted!r} but MPS is not available")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch.Generator seeded with ``seed`` (a fresh random seed when None)."""
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g
