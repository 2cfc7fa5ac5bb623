"""Plotly figures for every kind of Y' (and for Y): token grids, latents, images."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch


def _layout(fig: go.Figure, title: str, square: bool = True) -> go.Figure:
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=40, b=10), height=320)
    if square:
        fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
        fig.update_xaxes(showticklabels=False)
    return fig


def to_hwc(img: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) uint8 (grey repeated to RGB)."""
    a = img.detach().float().cpu().clamp(0, 1)
    if a.shape[0] == 1:
        a = a.repeat(3, 1, 1)
    return (a.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def image_heatmap(img: torch.Tensor, title: str = "Y") -> go.Figure:
    """One image (C, H, W) or (1, C, H, W) in [0, 1], pixel by pixel."""
    if img.dim() == 4:
        img = img[0]
    return _layout(go.Figure(go.Image(z=to_hwc(img))), f"{title} ({img.shape[-2]}x{img.shape[-1]})")


def image_grid(images: torch.Tensor, cols: int = 8, pad: int = 1) -> np.ndarray:
    """(B, C, H, W) in [0, 1] -> one (rows*H, cols*W, 3) uint8 mosaic, white gaps."""
    b, _, h, w = images.shape
    cols = max(1, min(cols, b))
    rows = -(-b // cols)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, 3), 255, np.uint8)
    for i in range(b):
        r, c = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = to_hwc(
            images[i]
        )
    return out


def token_grid(tokens: torch.Tensor, n_codes: int) -> go.Figure:
    """A VQ token map (h, w) or (1, h, w): colour = code index, hover and text = the code."""
    if tokens.dim() == 3:
        tokens = tokens[0]
    t = tokens.detach().cpu().numpy()
    fig = go.Figure(
        go.Heatmap(z=t, text=t, texttemplate="%{text}", colorscale="Turbo", zmin=0, zmax=n_codes - 1,
                   colorbar=dict(title="code"), hovertemplate="row %{y}, col %{x}: code %{z}<extra></extra>")
    )  # fmt: skip
    return _layout(fig, f"Y' = {t.shape[0]}x{t.shape[1]} tokens of {n_codes} codes")


def latent_bars(z: torch.Tensor) -> go.Figure:
    """A continuous latent (D,) or (1, D) as bars, one per dimension."""
    if z.dim() == 2:
        z = z[0]
    v = z.detach().cpu().numpy()
    fig = go.Figure(
        go.Bar(x=list(range(len(v))), y=v, marker_color=np.where(v >= 0, "#1f77b4", "#d62728"))
    )
    fig.update_layout(xaxis_title="latent dimension", yaxis_title="value")
    return _layout(fig, f"Y' = a {len(v)}-dimensional VAE latent", square=False)


_SPEC_TITLES = {
    "mel": "Y' = log-mel spectrogram",
    "linear": "Y' = log linear spectrogram",
    "mfcc": "Y' = MFCC",
}


def spectrogram(
    y_prime: torch.Tensor,
    conversion: str = "mel",
    cfg=None,
    alignment: list[tuple[str, int, int]] | None = None,
) -> go.Figure:
    """A time-frequency Y' (F, T) or (1, F, T) as a heatmap over seconds.

    ``alignment`` — (phoneme, first frame, frames) per phoneme — is drawn over it: a line where
    each phoneme starts and its name on top.
    """
    from regenlab.conversions.audio import STFTConfig

    cfg = cfg or STFTConfig()
    if y_prime.dim() == 3:
        y_prime = y_prime[0]
    z = y_prime.detach().float().cpu().numpy()
    sec = cfg.hop / cfg.sample_rate
    t = np.arange(z.shape[1]) * sec
    label = {"mel": "mel band", "linear": "frequency bin", "mfcc": "coefficient"}.get(
        conversion, ""
    )
    fig = go.Figure(
        go.Heatmap(z=z, x=t, y=np.arange(z.shape[0]), colorscale="Magma",
                   colorbar=dict(title="log" if conversion != "mfcc" else "value"),
                   hovertemplate="%{x:.2f} s, " + label + " %{y}: %{z:.2f}<extra></extra>")
    )  # fmt: skip
    if alignment:
        for name, start, n in alignment:
            x0 = start * sec
            fig.add_vline(x=x0, line=dict(color="rgba(255,255,255,0.55)", width=1))
            fig.add_annotation(x=x0 + n * sec / 2, y=z.shape[0] - 1, text=name, showarrow=False,
                               yanchor="bottom", font=dict(color="black", size=11))  # fmt: skip
    fig.update_layout(xaxis_title="seconds", yaxis_title=label)
    title = _SPEC_TITLES.get(conversion, "Y'") + f" ({z.shape[0]} x {z.shape[1]} frames)"
    return _layout(fig, title, square=False)


def waveform(y: torch.Tensor, sample_rate: int = 22050, title: str = "Y = waveform") -> go.Figure:
    """A waveform (S,), decimated to at most 4,000 points for the browser."""
    v = y.detach().float().cpu().flatten().numpy()
    step = max(1, len(v) // 4000)
    fig = go.Figure(go.Scatter(x=np.arange(0, len(v), step) / sample_rate, y=v[::step],
                               mode="lines", line=dict(width=1)))  # fmt: skip
    fig.update_layout(xaxis_title="seconds", yaxis_title="amplitude")
    return _layout(fig, f"{title} ({len(v) / sample_rate:.2f} s)", square=False)
