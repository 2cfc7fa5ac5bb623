"""One training loop for every stage: seeded, with a progress bar, atomic and resumable checkpoints.

A stage supplies a module with ``loss(*batch) -> (loss, stats)`` and a function that draws a batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from regenlab.zoo import atomic_write_bytes, read_record, save_checkpoint


@dataclass(frozen=True)
class FitConfig:
    """How long and how to optimise one stage."""

    steps: int  # optimiser steps
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)  # AdamW's moment decay rates
    warmup: int = 50  # linear warm-up steps, then cosine decay to 10% of lr
    max_seconds: float | None = None  # stop early once this much wall-clock is spent
    save_every: int = 500  # steps between resumable checkpoints
    seed: int = 0


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def matched_budget(
    ckpt_dir: Path, stages: tuple[str, ...], cfg: FitConfig
) -> tuple[int, FitConfig]:
    """A direct baseline's budget: the parameters of ``stages`` (already trained in ``ckpt_dir``)
    to match in size, and ``cfg`` stopped at their measured wall-clock, summed."""
    recs = [read_record(Path(ckpt_dir) / s)["meta"] for s in stages]
    seconds = sum(r["seconds"] for r in recs)
    return sum(r["params"] for r in recs), replace(cfg, max_seconds=seconds)


def _lr_at(step: int, elapsed: float, cfg: FitConfig) -> float:
    """Linear warm-up, then cosine decay over steps or, under a time budget, over seconds."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    if cfg.max_seconds:
        progress = max(progress, min(1.0, elapsed / cfg.max_seconds))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + torch.cos(torch.tensor(progress * torch.pi)).item()))


class Stopped(Exception):
    """Raised inside the loop when ``should_stop`` says so; the checkpoint is saved first."""


def fit(
    model: nn.Module,
    draw_batch: Callable[[torch.Generator, int], tuple[torch.Tensor, ...]],
    cfg: FitConfig,
    out: Path,
    *,
    name: str = "stage",
    resume: bool = True,
    on_step: Callable[[int, int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    extra_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``model`` for ``cfg.steps`` and save it at ``out`` (.safetensors + .json).

    ``draw_batch(generator, batch_size)`` returns the arguments of ``model.loss``. A file
    ``out``.resume.pt holds optimiser state and progress; with ``resume`` a rerun continues from it.
    Returns the training record (steps, seconds, loss curve, last stats).
    """
    out = Path(out)
    resume_path = out.with_suffix(".resume.pt")
    opt = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay
    )
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    step, elapsed, curve = 0, 0.0, []
    if resume and resume_path.exists():
        state = torch.load(resume_path, weights_only=True)
        if state["config"] == asdict(cfg):
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
            gen.set_state(state["gen"])
            torch.set_rng_state(state["torch_rng"])
            step, elapsed, curve = state["step"], state["elapsed"], state["curve"]

    def record(stats: dict[str, float]) -> dict[str, Any]:
        return {
            "name": name,
            "fit": asdict(cfg),
            "steps_done": step,
            "seconds": round(elapsed, 2),
            "params": sum(p.numel() for p in model.parameters()),
            "curve": curve,
            "last": stats,
            **(extra_meta or {}),
        }

    def save_resume() -> None:
        state = {
            "config": asdict(cfg), "model": model.state_dict(), "opt": opt.state_dict(),
            "gen": gen.get_state(), "torch_rng": torch.get_rng_state(),
            "step": step, "elapsed": elapsed, "curve": curve,
        }  # fmt: skip
        import io

        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(resume_path, buf.getvalue())

    model.train()
    device = next(model.parameters()).device
    stats: dict[str, float] = {}
    window: list[float] = []
    bar = tqdm(
        total=cfg.steps, initial=step, desc=name, unit="step", leave=False, dynamic_ncols=True
    )
    try:
        while step < cfg.steps:
            if cfg.max_seconds is not None and elapsed >= cfg.max_seconds:
                break
            if should_stop is not None and should_stop():
                raise Stopped(name)
            t0 = time.perf_counter()
            for group in opt.param_groups:
                group["lr"] = _lr_at(step, elapsed, cfg)
            batch = tuple(
                None if b is None else b.to(device) for b in draw_batch(gen, cfg.batch_size)
            )
            loss, stats = model.loss(*batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{name}: loss became {loss.item()} at step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            elapsed += time.perf_counter() - t0
            window.append(loss.item())
            if step % 25 == 0 or step == cfg.steps:
                curve.append([step, sum(window) / len(window)])
                window.clear()
                bar.set_postfix({k: f"{v:.3g}" for k, v in stats.items()})
            bar.update(1)
            if on_step is not None:
                on_step(step, cfg.steps, loss.item())
            if step % cfg.save_every == 0:
                save_resume()
    except Stopped:
        save_resume()
        raise
    finally:
        bar.close()
    model.eval()
    meta = record(stats)
    save_checkpoint(model, out, meta)
    resume_path.unlink(missing_ok=True)
    return meta
