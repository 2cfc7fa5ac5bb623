"""How every stage of the image task is built and trained, with the ``full`` and ``lab`` presets.

Stages, in the order they train (later ones read earlier checkpoints):

    classifier   metric network on real images (not part of any pipeline)
    vqvae        conversion Y -> tokens and its renderer (decoder)
    vq_prior     autoregressive transformer P(tokens | class)
    vae          conversion Y -> latent and its renderer (decoder)
    vae_prior    diffusion P(latent | class)
    upsampler    renderer P(Y | downsampled Y), a conditional VAE that samples detail
    down_prior   diffusion P(downsampled Y | class)
    direct       baseline P(Y | class), a class-conditional VAE on pixels, with about the
                 parameters of vqvae + vq_prior and their measured training wall-clock
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from regenlab.data.images import IMAGE_DATASETS, load_images
from regenlab.models import VQVAE, ConvClassifier, ConvVAE, TokenTransformer, VectorDiffusion
from regenlab.train import FitConfig, fit, matched_budget, n_params
from regenlab.zoo import load_checkpoint

STAGES = (
    "classifier",
    "vqvae",
    "vq_prior",
    "vae",
    "vae_prior",
    "upsampler",
    "down_prior",
    "direct",
)

# Architecture per data set (the same in both presets, so lab checkpoints are drop-in).
ARCH: dict[str, dict[str, Any]] = {
    "shapes": dict(
        factor=4,  # 32x32 -> 8x8
        classifier=dict(width=32, feat_dim=64),
        vqvae=dict(n_codes=64, code_dim=32, width=64, n_down=2),  # 8x8 tokens
        vq_prior=dict(dim=128, layers=4, heads=4, dropout=0.0, p_uncond=0.1, pos2d=True),
        # The prior learns from the tokens of all 8 symmetries of the square of each training
        # image (96k sequences): each keeps the shape's kind and is as likely under the generator.
        prior_augment="dihedral",
        vq_sampling=dict(guidance=0.75, top_k=0),  # classifier-free guidance w, chosen on seed 1
        vae=dict(latent_dim=32, width=64, n_down=2, sigma=0.05),
        upsampler=dict(latent_dim=16, width=64, n_down=2, sigma=0.05),
        diffusion=dict(width=256, layers=4, steps=100),
        direct=dict(latent_dim=32, n_down=2, sigma=0.1),  # width matched to the pipeline's params
    ),
    "digits": dict(
        factor=2,  # 8x8 -> 4x4
        classifier=dict(width=32, feat_dim=64),
        vqvae=dict(n_codes=64, code_dim=16, width=48, n_down=1),  # 4x4 tokens
        vq_prior=dict(dim=96, layers=3, heads=4, dropout=0.2, p_uncond=0.1),
        vq_sampling=dict(guidance=1.0, top_k=0),
        vae=dict(latent_dim=8, width=48, n_down=1, sigma=0.05),
        upsampler=dict(latent_dim=8, width=48, n_down=1, sigma=0.05),
        diffusion=dict(width=256, layers=4, steps=100, dropout=0.1),
        direct=dict(latent_dim=8, n_down=1, sigma=0.1),
    ),
}


def _fc(steps: int, **kw: Any) -> FitConfig:
    return FitConfig(steps=steps, **kw)


# Steps per stage; ``direct`` also stops at the measured seconds of vqvae + vq_prior.
PRESETS: dict[str, dict[str, dict[str, FitConfig]]] = {
    "full": {
        "shapes": {
            "classifier": _fc(1200, batch_size=128, lr=2e-3),
            "vqvae": _fc(2000, batch_size=64, lr=2e-3),
            "vq_prior": _fc(5000, batch_size=64, lr=1.5e-3, weight_decay=0.01, betas=(0.9, 0.95)),
            "vae": _fc(600, batch_size=64, lr=2e-3),
            "vae_prior": _fc(3000, batch_size=256, lr=1e-3),
            "upsampler": _fc(600, batch_size=64, lr=2e-3),
            "down_prior": _fc(3000, batch_size=256, lr=1e-3),
            "direct": _fc(100_000, batch_size=64, lr=2e-3),
        },
        "digits": {
            "classifier": _fc(1500, batch_size=128, lr=2e-3, weight_decay=0.01),
            "vqvae": _fc(3000, batch_size=64, lr=2e-3),
            "vq_prior": _fc(2500, batch_size=64, lr=1e-3, weight_decay=0.05),
            "vae": _fc(2000, batch_size=64, lr=2e-3),
            "vae_prior": _fc(3000, batch_size=256, lr=1e-3),
            "upsampler": _fc(2000, batch_size=64, lr=2e-3),
            "down_prior": _fc(3000, batch_size=256, lr=1e-3),
            "direct": _fc(100_000, batch_size=64, lr=2e-3),
        },
    },
}


def _scaled(
    preset: dict[str, dict[str, FitConfig]], frac: float, least: int
) -> dict[str, dict[str, FitConfig]]:
    return {
        ds: {st: dataclasses.replace(c, steps=max(least, int(c.steps * frac)), warmup=min(c.warmup, least))
             for st, c in stages.items()}
        for ds, stages in preset.items()
    }  # fmt: skip


PRESETS["lab"] = _scaled(PRESETS["full"], 0.15, 50)  # live training in the app and notebooks
PRESETS["smoke"] = _scaled(PRESETS["full"], 0.0, 5)  # seconds: for tests of the machinery


def fit_config(preset: str, dataset: str, stage: str) -> FitConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[preset][dataset][stage]


# ---------------------------------------------------------------------------- building the modules


def direct_width(dataset: str, target_params: int) -> int:
    """The direct model's width whose parameter count is closest to ``target_params``."""
    _, (c, s, _) = IMAGE_DATASETS[dataset]
    a = ARCH[dataset]["direct"]
    widths = range(16, 257, 8)
    return min(
        widths,
        key=lambda w: abs(
            n_params(ConvVAE(c, s, width=w, n_classes=len(IMAGE_DATASETS[dataset][0]), **a))
            - target_params
        ),
    )


def build(dataset: str, stage: str, target_params: int = 0) -> nn.Module:
    """A freshly initialised module for ``stage`` on ``dataset``."""
    classes, (c, s, _) = IMAGE_DATASETS[dataset]
    a, k = ARCH[dataset], len(classes)
    if stage == "classifier":
        return ConvClassifier(c, s, k, **a["classifier"])
    if stage == "vqvae":
        return VQVAE(c, s, **a["vqvae"])
    if stage == "vq_prior":
        grid = s // 2 ** a["vqvae"]["n_down"]
        kw = dict(a["vq_prior"])
        pos2d = kw.pop("pos2d", False)  # row and column embeddings
        return TokenTransformer(
            a["vqvae"]["n_codes"], grid * grid, k, grid=grid if pos2d else 0, **kw
        )
    if stage == "vae":
        return ConvVAE(c, s, **a["vae"])
    if stage == "vae_prior":
        return VectorDiffusion(a["vae"]["latent_dim"], k, **a["diffusion"])
    if stage == "upsampler":
        return ConvVAE(c, s, cond_ch=c, **a["upsampler"])
    if stage == "down_prior":
        return VectorDiffusion(c * (s // a["factor"]) ** 2, k, **a["diffusion"])
    if stage == "direct":
        return ConvVAE(c, s, width=direct_width(dataset, target_params), n_classes=k, **a["direct"])
    raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")


# ----------------------------------------------------------------------------------- batches


def _shift(y: torch.Tensor, gen: torch.Generator, pixels: int = 1) -> torch.Tensor:
    """Random translation by up to ``pixels`` (edge padding), for the classifier."""
    b, _, h, w = y.shape
    padded = F.pad(y, (pixels,) * 4, mode="replicate")
    dx, dy = torch.randint(0, 2 * pixels + 1, (2,), generator=gen).tolist()
    return padded[:, :, dy : dy + h, dx : dx + w]


def dihedral(y: torch.Tensor) -> torch.Tensor:
    """The 8 symmetries of the square of each image: (N, C, H, W) -> (8N, C, H, W)."""
    turns = [torch.rot90(y, k, dims=(2, 3)) for k in range(4)]
    return torch.cat(turns + [t.flip(3) for t in turns])


def batch_source(
    dataset: str, stage: str, ckpt_dir: Path
) -> Callable[[torch.Generator, int], tuple]:
    """``draw(generator, batch_size)`` returning the arguments of the stage's ``loss``."""
    train = load_images(dataset, "train")
    y, labels = train.images, train.labels
    n = len(labels)

    def pick(gen: torch.Generator, b: int, size: int = n) -> torch.Tensor:
        return torch.randint(0, size, (b,), generator=gen)

    if stage == "classifier":
        return lambda g, b: (lambda i: (_shift(y[i], g), labels[i]))(pick(g, b))
    if stage in ("vqvae", "vae"):
        return lambda g, b: (y[pick(g, b)],)
    if stage == "direct":
        return lambda g, b: (lambda i: (y[i], labels[i]))(pick(g, b))
    factor = ARCH[dataset]["factor"]
    low = F.avg_pool2d(y, factor)  # (N, C, H/f, W/f)
    if stage == "upsampler":
        return lambda g, b: (lambda i: (y[i], None, low[i]))(pick(g, b))
    if stage == "down_prior":
        flat = low.flatten(1)
        return lambda g, b: (lambda i: (flat[i], labels[i]))(pick(g, b))
    if stage == "vq_prior":
        vq = load_checkpoint(ckpt_dir / "vqvae")
        if ARCH[dataset].get("prior_augment") == "dihedral":
            y, labels = dihedral(y), labels.repeat(8)
        with torch.no_grad():
            tokens = torch.cat([vq.encode(y[i : i + 512]) for i in range(0, len(y), 512)])
        tokens = tokens.flatten(1)  # (N, T)
        return lambda g, b: (lambda i: (tokens[i], labels[i]))(pick(g, b, len(labels)))
    if stage == "vae_prior":
        vae = load_checkpoint(ckpt_dir / "vae")
        with torch.no_grad():
            stats = [vae.encode_stats(y[i : i + 512]) for i in range(0, n, 512)]
        mu = torch.cat([s[0] for s in stats])
        std = torch.cat([(0.5 * s[1]).exp() for s in stats])

        def draw(g: torch.Generator, b: int) -> tuple:
            i = pick(g, b)
            z = mu[i] + std[i] * torch.randn(mu[i].shape, generator=g)  # posterior samples
            return z, labels[i]

        return draw
    raise ValueError(f"unknown stage {stage!r}")


# ----------------------------------------------------------------------------------- training


def train_stage(
    dataset: str,
    stage: str,
    preset: str,
    ckpt_dir: Path,
    *,
    on_step: Callable[[int, int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Train one stage from scratch (or resume it) and save it under ``ckpt_dir``."""
    ckpt_dir = Path(ckpt_dir)
    cfg = fit_config(preset, dataset, stage)
    target, extra = 0, {"dataset": dataset, "preset": preset}
    if stage == "direct":  # same parameters (+-20%) and the same wall-clock as vqvae + vq_prior
        target, cfg = matched_budget(ckpt_dir, ("vqvae", "vq_prior"), cfg)
        extra["matched_params"] = target
    model = build(dataset, stage, target).to(device)
    draw = batch_source(dataset, stage, ckpt_dir)
    if isinstance(model, VectorDiffusion):
        model.set_data_stats(draw(torch.Generator().manual_seed(1), 4096)[0].to(device))
    return fit(model, draw, cfg, ckpt_dir / stage, name=f"{dataset}/{stage}", on_step=on_step,
               should_stop=should_stop, extra_meta=extra)  # fmt: skip


def train_all(
    datasets: tuple[str, ...],
    preset: str,
    root: Path,
    stages: tuple[str, ...] = STAGES,
    device: torch.device | str = "cpu",
) -> dict[str, dict[str, Any]]:
    """Train ``stages`` for each data set into ``root/<dataset>/``; returns the records."""
    out: dict[str, dict[str, Any]] = {}
    for ds in datasets:
        for st in stages:
            out[f"{ds}/{st}"] = train_stage(ds, st, preset, Path(root) / ds, device=device)
    return out
