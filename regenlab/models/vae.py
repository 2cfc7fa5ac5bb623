"""A convolutional VAE (Kingma & Welling, 2014) with optional conditions.

One module, three roles in the lab:
- the implicit continuous conversion Y -> latent Z (no condition; its decoder is the renderer);
- the learned upsampler P(Y | Y_low) (condition: the low-resolution image), which samples the
  detail that downsampling dropped;
- the direct baseline P(Y | class) (condition: the class), trained end to end on pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from regenlab.models.blocks import down_stack, up_stack


class ConvVAE(nn.Module):
    """q(z | y, c) and p(y | z, c) with z of ``latent_dim``; c a class and/or a low-res image."""

    def __init__(
        self,
        in_ch: int,
        size: int,
        latent_dim: int = 32,
        width: int = 64,
        n_down: int = 2,
        n_classes: int = 0,
        cond_ch: int = 0,
        sigma: float = 0.1,
    ):
        super().__init__()
        self.config = dict(
            in_ch=in_ch, size=size, latent_dim=latent_dim, width=width, n_down=n_down,
            n_classes=n_classes, cond_ch=cond_ch, sigma=sigma,
        )  # fmt: skip
        self.grid = size // 2**n_down  # bottleneck side h
        self.width, self.latent_dim, self.sigma = width, latent_dim, sigma
        self.encoder = down_stack(in_ch, width, n_down)
        self.to_stats = nn.Linear((width + cond_ch) * self.grid**2, 2 * latent_dim)
        self.class_emb = nn.Embedding(n_classes, latent_dim) if n_classes else None
        self.from_z = nn.Linear(latent_dim, width * self.grid**2)
        self.merge = nn.Conv2d(width + cond_ch, width, 3, padding=1)
        self.decoder = up_stack(width, in_ch, n_down)

    def _cond_map(self, cond: torch.Tensor | None) -> torch.Tensor | None:
        """The low-res condition (B, cond_ch, h', w') resized to the bottleneck (B, cond_ch, h, w)."""
        if cond is None:
            return None
        if cond.shape[-1] != self.grid:
            cond = F.interpolate(cond, size=(self.grid, self.grid), mode="area")
        return cond * 2 - 1

    def encode_stats(
        self, y: torch.Tensor, cond: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Y (B, C, H, W) -> (mu, logvar), each (B, latent_dim)."""
        h = self.encoder(y * 2 - 1)  # (B, width, h, w)
        c = self._cond_map(cond)
        if c is not None:
            h = torch.cat([h, c], 1)
        mu, logvar = self.to_stats(h.flatten(1)).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 6)

    def decode(
        self, z: torch.Tensor, labels: torch.Tensor | None = None, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        """z (B, latent_dim) -> Y (B, C, H, W) in [0, 1]."""
        if self.class_emb is not None:
            z = z + self.class_emb(labels)
        h = self.from_z(z).view(-1, self.width, self.grid, self.grid)  # (B, width, h, w)
        c = self._cond_map(cond)
        h = self.merge(torch.cat([h, c], 1) if c is not None else h)
        return torch.sigmoid(self.decoder(h))

    def loss(
        self, y: torch.Tensor, labels: torch.Tensor | None = None, cond: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative ELBO per image: ||y - y_hat||^2 / (2 sigma^2) + KL(q(z|y) || N(0, I))."""
        mu, logvar = self.encode_stats(y, cond)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # reparameterisation
        recon = self.decode(z, labels, cond)
        sq = (recon - y).pow(2).flatten(1).sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        loss = (sq / (2 * self.sigma**2) + kl).mean() / y[0].numel()
        mse = sq.mean().item() / y[0].numel()
        return loss, {"mse": mse, "kl": kl.mean().item()}
