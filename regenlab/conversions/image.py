"""Image conversions Y (B, C, H, W) in [0, 1] -> Y'.

- ``Downsample`` (explicit): average pooling by ``factor``; continuous Y' (B, C, H/f, W/f).
- ``VAELatent`` (implicit, continuous): the VAE encoder's posterior mean; Y' (B, D).
- ``VQTokens`` (implicit, discrete): the VQ-VAE encoder's nearest codes; Y' (B, h, w) long.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from regenlab.core import Card, Conversion
from regenlab.models import VQVAE, ConvVAE


class Downsample(Conversion):
    """Explicit: keep the coarse layout and colours, drop edges and fine detail."""

    kind = "explicit"
    discrete = False

    def __init__(self, factor: int):
        if factor < 1:
            raise ValueError(f"downsampling factor must be >= 1, got {factor}")
        self.factor = factor
        self.name = "downsample"
        self.card = Card(
            keeps=f"average colour of each {factor}x{factor} block: layout, colours, rough shape",
            drops="edges and fine detail inside each block; the renderer must sample them",
            principles=(
                "1 easy to predict: few values, smooth; 2 rendering must invent detail, so it is a "
                "distribution; 3 compact by a factor of "
                f"{factor * factor}, but still continuous"
            ),
        )

    @torch.no_grad()
    def encode(self, y: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(y, self.factor)  # (B, C, H/f, W/f)

    def y_prime_shape(self, y_shape: Sequence[int]) -> tuple[int, ...]:
        c, h, w = y_shape
        return (c, h // self.factor, w // self.factor)


class VAELatent(Conversion):
    """Implicit, continuous: the mean of q(z|y) from a trained VAE; its decoder renders."""

    kind = "implicit"
    discrete = False

    def __init__(self, vae: ConvVAE):
        self.vae = vae
        self.name = "vae"
        self.card = Card(
            keeps=f"a {vae.latent_dim}-number summary learned to reconstruct the image",
            drops="whatever the decoder cannot rebuild from so few numbers (sharp edges blur)",
            principles=(
                "1 smooth latent space, easy for a diffusion prior; 2 the VAE decoder renders it "
                f"deterministically; 3 very compact ({vae.latent_dim} floats)"
            ),
        )

    @torch.no_grad()
    def encode(self, y: torch.Tensor) -> torch.Tensor:
        return self.vae.encode_stats(y)[0]  # (B, D)

    @torch.no_grad()
    def decode(self, y_prime: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(y_prime)

    def y_prime_shape(self, y_shape: Sequence[int]) -> tuple[int, ...]:
        return (self.vae.latent_dim,)


class VQTokens(Conversion):
    """Implicit, discrete: a grid of codebook indices from a trained VQ-VAE; its decoder renders."""

    kind = "implicit"
    discrete = True

    def __init__(self, vqvae: VQVAE):
        self.vqvae = vqvae
        self.name = "vq"
        self.codebook_size = vqvae.quantizer.n_codes
        g = vqvae.grid
        self.card = Card(
            keeps=f"a {g}x{g} grid of tokens from a codebook of {self.codebook_size} learned patches",
            drops="variation inside each patch that the codebook cannot tell apart",
            principles=(
                "1 discrete tokens suit an autoregressive prior (cross-entropy, temperature, "
                "top-k); 2 the VQ decoder renders them; "
                f"3 {g * g} tokens of {self.codebook_size} values each"
            ),
        )

    @torch.no_grad()
    def encode(self, y: torch.Tensor) -> torch.Tensor:
        return self.vqvae.encode(y)  # (B, h, w)

    @torch.no_grad()
    def decode(self, y_prime: torch.Tensor) -> torch.Tensor:
        return self.vqvae.decode_code(y_prime)

    def y_prime_shape(self, y_shape: Sequence[int]) -> tuple[int, ...]:
        return (self.vqvae.grid, self.vqvae.grid)
