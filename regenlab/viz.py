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
