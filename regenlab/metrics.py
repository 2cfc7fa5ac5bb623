"""Measured figures: reconstruction PSNR, class consistency, diversity, Frechet distance, perplexity."""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg


def psnr(y: torch.Tensor, y_hat: torch.Tensor) -> float:
    """Mean over images of 10 log10(1 / MSE) for values in [0, 1]; y, y_hat (B, ...)."""
    mse = (y - y_hat).pow(2).flatten(1).mean(1).clamp_min(1e-10)  # (B,)
    return float((10 * torch.log10(1 / mse)).mean())


def code_perplexity(codes: torch.Tensor, n_codes: int) -> tuple[float, float]:
    """exp(entropy) of the code histogram, and the share of codes used at least once."""
    counts = torch.bincount(codes.flatten(), minlength=n_codes).double()
    p = counts / counts.sum()
    ent = -(p[p > 0] * p[p > 0].log()).sum()
    return float(ent.exp()), float((counts > 0).double().mean())


def class_consistency(predicted: torch.Tensor, requested: torch.Tensor) -> float:
    """Share of samples the independent classifier assigns to the requested class."""
    return float((predicted == requested).double().mean())


def within_class_diversity(features: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean pairwise L2 distance between feature vectors of the same class, averaged over classes."""
    out = []
    for c in labels.unique():
        f = features[labels == c].double()
        if len(f) < 2:
            continue
        d = torch.cdist(f, f)
        out.append(d.sum() / (len(f) * (len(f) - 1)))
    return float(torch.stack(out).mean()) if out else float("nan")  # nan: no class has 2 samples


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) (Heusel et al., 2017, FID's formula)."""
    r, f = real.double().numpy(), fake.double().numpy()
    mu_r, mu_f = r.mean(0), f.mean(0)
    s_r, s_f = np.cov(r, rowvar=False), np.cov(f, rowvar=False)
    covmean = linalg.sqrtm(s_r @ s_f)
    if not np.isfinite(covmean).all():  # nearly singular product: regularise both covariances
        eps = np.eye(len(s_r)) * 1e-6
        covmean = linalg.sqrtm((s_r + eps) @ (s_f + eps))
    covmean = covmean.real
    return float(((mu_r - mu_f) ** 2).sum() + np.trace(s_r + s_f - 2 * covmean))


def stoi(ref: torch.Tensor, y: torch.Tensor, sample_rate: int) -> float:
    """Short-time objective intelligibility of y against the clean ref (pystoi; 0..1).

    NaN where it is undefined: pystoi needs 30 frames of 25.6 ms (at 10 kHz) of speech left
    after dropping silent frames, and otherwise warns and returns 1e-5.
    """
    import warnings

    from pystoi import stoi as _stoi

    s = min(len(ref), len(y))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        v = _stoi(ref[:s].double().numpy(), y[:s].double().numpy(), sample_rate, extended=False)
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return float("nan")
    return float(v)


def pesq_wb(ref: torch.Tensor, y: torch.Tensor, sample_rate: int) -> float | None:
    """Wide-band PESQ (ITU-T P.862.2) at 16 kHz, or None where the ``pesq`` package is missing."""
    try:
        from pesq import pesq
    except ImportError:
        return None
    import torchaudio

    s = min(len(ref), len(y))
    rs = torchaudio.functional.resample
    a = rs(ref[:s].float(), sample_rate, 16000).numpy()
    b = rs(y[:s].float(), sample_rate, 16000).numpy()
    try:
        return float(pesq(16000, a, b, "wb"))
    except Exception:  # noqa: BLE001  (pesq raises on silent or too-short clips)
        return None
