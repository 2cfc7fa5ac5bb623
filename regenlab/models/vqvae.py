"""VQ-VAE (van den Oord et al., 2017): an implicit, discrete conversion Y -> tokens and its decoder.

``encode`` gives Y' (token grid), ``decode_code`` renders Y from Y', as in vq-vae-2-pytorch.
The codebook is learned by exponential moving averages, and codes unused for a while are
reset to random encoder outputs (dead-code handling).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from regenlab.models.blocks import down_stack, up_stack


class VectorQuantizerEMA(nn.Module):
    """Nearest-code quantisation with an EMA codebook; (B, D, h, w) -> codes (B, h, w)."""

    def __init__(self, n_codes: int, dim: int, decay: float = 0.95, dead_after: int = 50):
        super().__init__()
        self.n_codes, self.dim, self.decay, self.dead_after = n_codes, dim, decay, dead_after
        self.register_buffer("codebook", torch.randn(n_codes, dim) * 0.1)  # (K, D)
        self.register_buffer("ema_count", torch.ones(n_codes))
        self.register_buffer("ema_sum", self.codebook.clone())
        self.register_buffer("idle", torch.zeros(n_codes))  # steps since a code was last used

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D, h, w) -> nearest code indices (B, h, w)."""
        flat = z.permute(0, 2, 3, 1).reshape(-1, self.dim)  # (B*h*w, D)
        dist = (
            flat.pow(2).sum(1, keepdim=True)
            - 2 * flat @ self.codebook.T
            + self.codebook.pow(2).sum(1)
        )
        return dist.argmin(1).view(z.shape[0], z.shape[2], z.shape[3])

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, h, w) -> (B, D, h, w)."""
        return self.codebook[codes].permute(0, 3, 1, 2)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (straight-through quantised z, codes, commitment loss)."""
        codes = self.codes(z)
        zq = self.embed(codes)
        if self.training:
            self._ema_update(z, codes)
        commit = F.mse_loss(z, zq.detach())
        zq = z + (zq - z).detach()  # straight-through estimator
        return zq, codes, commit

    @torch.no_grad()
    def _ema_update(self, z: torch.Tensor, codes: torch.Tensor) -> None:
        flat = z.permute(0, 2, 3, 1).reshape(-1, self.dim)
        onehot = F.one_hot(codes.flatten(), self.n_codes).type_as(flat)  # (N, K)
        count = onehot.sum(0)
        self.ema_count.mul_(self.decay).add_(count, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(onehot.T @ flat, alpha=1 - self.decay)
        n = self.ema_count.sum()
        smoothed = (self.ema_count + 1e-5) / (n + self.n_codes * 1e-5) * n  # Laplace smoothing
        self.codebook.copy_(self.ema_sum / smoothed.unsqueeze(1))
        self.idle.add_(1).masked_fill_(count > 0, 0)
        dead = self.idle >= self.dead_after
        if dead.any():  # restart dead codes at random encoder outputs
            pick = torch.randint(0, flat.shape[0], (int(dead.sum()),), device=flat.device)
            self.codebook[dead] = flat[pick]
            self.ema_sum[dead] = flat[pick]
            self.ema_count[dead] = 1.0
            self.idle[dead] = 0


class VQVAE(nn.Module):
    """Y (B, C, H, W) in [0, 1] <-> tokens (B, H / 2**n_down, W / 2**n_down) in [0, K)."""

    def __init__(
        self,
        in_ch: int,
        size: int,
        n_codes: int = 128,
        code_dim: int = 32,
        width: int = 64,
        n_down: int = 2,
    ):
        super().__init__()
        self.config = dict(
            in_ch=in_ch, size=size, n_codes=n_codes, code_dim=code_dim, width=width, n_down=n_down
        )
        self.encoder = nn.Sequential(
            down_stack(in_ch, width, n_down), nn.Conv2d(width, code_dim, 1)
        )
        self.quantizer = VectorQuantizerEMA(n_codes, code_dim)
        self.decoder = nn.Sequential(
            nn.Conv2d(code_dim, width, 3, padding=1), up_stack(width, in_ch, n_down)
        )
        self.grid = size // 2**n_down

    def encode(self, y: torch.Tensor) -> torch.Tensor:
        """Y (B, C, H, W) -> Y' tokens (B, h, w) long."""
        return self.quantizer.codes(self.encoder(y * 2 - 1))

    def decode_code(self, codes: torch.Tensor) -> torch.Tensor:
        """Y' tokens (B, h, w) -> Y (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decoder(self.quantizer.embed(codes)))

    def loss(
        self, y: torch.Tensor, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        zq, codes, commit = self.quantizer(self.encoder(y * 2 - 1))
        recon = torch.sigmoid(self.decoder(zq))
        mse = F.mse_loss(recon, y)
        counts = torch.bincount(codes.flatten(), minlength=self.quantizer.n_codes).float()
        p = counts / counts.sum()
        perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum()).item()
        psnr = (10 * torch.log10(1 / mse.clamp_min(1e-10))).item()
        return mse + 0.25 * commit, {"mse": mse.item(), "psnr": psnr, "perplexity": perplexity}
