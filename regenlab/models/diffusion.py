"""A class-conditional denoising diffusion model (Ho et al., 2020) over flat continuous Y'.

Used as the prior P(Y'|X) for a VAE latent (latent diffusion) and for a downsampled image.
Y' is standardised per dimension with statistics stored in the module.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def cosine_alpha_bar(steps: int) -> torch.Tensor:
    """alpha_bar_t of the cosine schedule (Nichol & Dhariwal, 2021, eq. 17), t = 1..steps."""
    s = 0.008
    t = torch.linspace(0, 1, steps + 1, dtype=torch.float64)
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    return (f[1:] / f[0]).clamp(1e-5, 0.9999).float()


class ResMLP(nn.Module):
    def __init__(self, dim: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, 2 * dim),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(2 * dim, dim),
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return x + self.net(x + cond)


class VectorDiffusion(nn.Module):
    """epsilon-prediction network eps(y'_t, t, class) over (B, D) vectors, with its sampler."""

    def __init__(
        self,
        dim: int,
        n_classes: int,
        width: int = 256,
        layers: int = 4,
        steps: int = 100,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.config = dict(
            dim=dim, n_classes=n_classes, width=width, layers=layers, steps=steps, dropout=dropout
        )
        self.dim, self.steps = dim, steps
        self.inp = nn.Linear(dim, width)
        self.t_emb = nn.Sequential(nn.Linear(64, width), nn.SiLU(), nn.Linear(width, width))
        self.c_emb = nn.Embedding(n_classes, width)
        self.blocks = nn.ModuleList(ResMLP(width, dropout) for _ in range(layers))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, dim))
        self.register_buffer("alpha_bar", cosine_alpha_bar(steps))
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def set_data_stats(self, data: torch.Tensor) -> None:
        """Standardise Y' with the training set's per-dimension mean and std; data (N, D)."""
        self.mean.copy_(data.mean(0))
        self.std.copy_(data.std(0).clamp_min(1e-3))

    def _time_features(self, t: torch.Tensor) -> torch.Tensor:
        half = 32
        freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device) / half)
        ang = t.float()[:, None] * freqs[None]  # (B, 32)
        return torch.cat([ang.sin(), ang.cos()], 1)  # (B, 64)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Predicted noise eps (B, D) for standardised x_t (B, D) at integer steps t (B,)."""
        cond = self.t_emb(self._time_features(t)) + self.c_emb(labels)
        h = self.inp(x_t)
        for block in self.blocks:
            h = block(h, cond)
        return self.out(h)

    def loss(
        self, y_prime: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The simple loss ||eps - eps_theta(sqrt(ab) x0 + sqrt(1 - ab) eps, t)||^2 (Ho et al., eq. 14)."""
        x0 = (y_prime - self.mean) / self.std
        t = torch.randint(0, self.steps, (x0.shape[0],), device=x0.device)
        ab = self.alpha_bar[t][:, None]
        eps = torch.randn_like(x0)
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        loss = F.mse_loss(self(x_t, t, labels), eps)
        return loss, {"eps_mse": loss.item()}

    @torch.no_grad()
    def sample(
        self,
        labels: torch.Tensor,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Ancestral sampling (Ho et al., algorithm 2) with noise scaled by ``temperature``; -> (B, D)."""
        dev = labels.device
        b = labels.shape[0]
        x = torch.randn(b, self.dim, generator=generator, device=dev) * temperature  # x_T
        for i in reversed(range(self.steps)):
            ab = self.alpha_bar[i]
            ab_prev = self.alpha_bar[i - 1] if i > 0 else torch.tensor(1.0, device=dev)
            beta = 1 - ab / ab_prev
            eps = self(x, torch.full((b,), i, device=dev, dtype=torch.long), labels)
            # mean of p(x_{t-1} | x_t) (Ho et al., eq. 11)
            x = (x - beta / (1 - ab).sqrt() * eps) / (1 - beta).sqrt()
            if i > 0:
                var = beta * (1 - ab_prev) / (1 - ab)  # posterior variance beta~_t
                x = x + var.sqrt() * temperature * torch.randn(
                    b, self.dim, generator=generator, device=dev
                )
        return x * self.std + self.mean
