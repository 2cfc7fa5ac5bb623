"""How long each preset takes on this machine: seconds per step of every stage, times its steps.

    python benches/train_time.py [--steps 20]

Measures a few optimiser steps of each stage (after warm-up) and prints, per stage, the measured
seconds per step and the projected wall-clock of the ``full`` and ``lab`` presets side by side,
with their ratio. The direct baseline is budgeted the wall-clock of vqvae + vq_prior, as in
training. Run it on an otherwise idle machine: two torch jobs on 2 cores each run far slower.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import torch

from regenlab.tasks.image_train import PRESETS, STAGES, batch_source, build, n_params
from regenlab.train import FitConfig, fit


def seconds_per_step(dataset: str, stage: str, ckpt: Path, steps: int) -> float:
    cfg = PRESETS["full"][dataset][stage]
    target = (
        sum(n_params(build(dataset, s)) for s in ("vqvae", "vq_prior")) if stage == "direct" else 0
    )
    model = build(dataset, stage, target)
    draw = batch_source(dataset, stage, ckpt)
    if hasattr(model, "set_data_stats"):
        model.set_data_stats(draw(torch.Generator().manual_seed(1), 4096)[0])
    fit(
        model,
        draw,
        FitConfig(steps=3, batch_size=cfg.batch_size),
        ckpt / f"warm_{stage}",
        resume=False,
    )
    t0 = time.perf_counter()
    fit(model, draw, FitConfig(steps=steps, batch_size=cfg.batch_size), ckpt / stage, resume=False)
    return (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    totals = {"full": 0.0, "lab": 0.0}
    print(f"torch threads: {torch.get_num_threads()}")
    print(
        f"{'stage':22s} {'s/step':>8s} {'full steps':>10s} {'full s':>8s} {'lab steps':>9s} {'lab s':>7s} {'full/lab':>8s}"
    )
    for ds in PRESETS["full"]:
        with TemporaryDirectory() as tmp:
            ckpt, spent = Path(tmp), {}
            for stage in STAGES:
                sps = seconds_per_step(ds, stage, ckpt, args.steps)
                row = {}
                for preset in totals:
                    steps = PRESETS[preset][ds][stage].steps
                    if stage == "direct":  # stops at the wall-clock of vqvae + vq_prior
                        budget = spent[preset]["vqvae"] + spent[preset]["vq_prior"]
                        steps = min(steps, int(budget / sps))
                    row[preset] = (steps, steps * sps)
                    spent.setdefault(preset, {})[stage] = steps * sps
                    totals[preset] += steps * sps
                (fs, ft), (ls, lt) = row["full"], row["lab"]
                print(
                    f"{ds + '/' + stage:22s} {sps:8.3f} {fs:10d} {ft:8.0f} {ls:9d} {lt:7.0f} {ft / lt:8.1f}",
                    flush=True,
                )
    f, lab = totals["full"], totals["lab"]
    print(
        f"{'total (minutes)':22s} {'':8s} {'':10s} {f / 60:8.1f} {'':9s} {lab / 60:7.1f} {f / lab:8.1f}"
    )


if __name__ == "__main__":
    main()
