"""An independent classifier trained on real images; it scores samples (metrics only)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvClassifier(nn.Module):
    """Three conv layers (the first strided on images over 16 pixels) and a feature layer; ``features`` feeds the Frechet distance."""

    def __init__(self, in_ch: int, size: int, n_classes: int, width: int = 32, feat_dim: int = 64):
        super().__init__()
        self.config = dict(
            in_ch=in_ch, size=size, n_classes=n_classes, width=width, feat_dim=feat_dim
        )
        self.convs = nn.Sequential(
            nn.Conv2d(in_ch, width, 3, padding=1, stride=2 if size > 16 else 1), nn.ReLU(),
            nn.Conv2d(width, width * 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width * 2, width * 2, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
        )  # fmt: skip
        self.feat = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.2), nn.Linear(width * 2 * 16, feat_dim), nn.ReLU()
        )
        self.head = nn.Linear(feat_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, feat_dim)."""
        return self.feat(self.convs(x * 2 - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> logits (B, n_classes)."""
        return self.head(self.features(x))

    def loss(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        logits = self(x)
        acc = (logits.argmax(-1) == labels).float().mean().item()
        return F.cross_entropy(logits, labels), {"acc": acc}
