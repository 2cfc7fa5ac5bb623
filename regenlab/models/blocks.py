"""Small shared building blocks for the image models."""

from __future__ import annotations

import torch
from torch import nn


class ResBlock(nn.Module):
    """x + conv(act(conv(act(x)))), channels kept; (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, ch: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.GroupNorm(8 if ch % 8 == 0 else 1, ch),
            nn.SiLU(),
            nn.Conv2d(ch, ch, 3, padding=1),
            nn.GroupNorm(8 if ch % 8 == 0 else 1, ch),
            nn.SiLU(),
            nn.Conv2d(ch, ch, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


def down_stack(in_ch: int, width: int, n_down: int) -> nn.Sequential:
    """(B, in_ch, H, W) -> (B, width, H / 2**n_down, W / 2**n_down).

    Cheap at full resolution (half width, no residual block), residual blocks below it.
    """
    half = width // 2
    layers: list[nn.Module] = [nn.Conv2d(in_ch, half, 3, padding=1), nn.SiLU()]
    ch = half
    for _ in range(n_down):
        layers += [nn.Conv2d(ch, width, 4, stride=2, padding=1), ResBlock(width)]
        ch = width
    layers += [ResBlock(width)]
    return nn.Sequential(*layers)


def up_stack(width: int, out_ch: int, n_up: int) -> nn.Sequential:
    """(B, width, h, w) -> (B, out_ch, h * 2**n_up, w * 2**n_up), logits (no squashing)."""
    half = width // 2
    layers: list[nn.Module] = [ResBlock(width)]
    for i in range(n_up):
        last = i == n_up - 1
        layers += [
            ResBlock(width),
            nn.ConvTranspose2d(width, half if last else width, 4, stride=2, padding=1),
        ]
    layers += [nn.SiLU(), nn.Conv2d(half if n_up else width, out_ch, 3, padding=1)]
    return nn.Sequential(*layers)
