"""Image data sets for the class -> image task, with fixed train/val/test splits by seed.

- ``digits``: scikit-learn's 1,797 real handwritten digits, 8x8 grey, 17 grey levels.
- ``shapes``: procedurally generated 32x32 RGB shapes; the class is the kind of shape, while
  colour, size, position, rotation and background vary, so one class has many images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw

SHAPE_CLASSES = ("circle", "square", "triangle", "cross", "star", "ring")
DIGIT_CLASSES = tuple(str(d) for d in range(10))

# A palette keeps colours varied but nameable; foreground and background never coincide.
PALETTE = np.array(
    [
        [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
        [145, 30, 180], [70, 240, 240], [240, 50, 230], [250, 250, 250], [20, 20, 20],
    ],
    dtype=np.uint8,
)  # fmt: skip
SHAPES_SIZE = 32  # pixels a side
_SUPERSAMPLE = 4  # draw at 128x128, then downsample: anti-aliased edges
SHAPES_SPLITS = {"train": 12000, "val": 1000, "test": 1000}


@dataclass(frozen=True)
class ImageData:
    """One split: images (N, C, H, W) float in [0, 1] and labels (N,) long."""

    name: str
    classes: tuple[str, ...]
    images: torch.Tensor
    labels: torch.Tensor

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # (C, H, W)


def _polygon(cx: float, cy: float, r: float, angle: float, radii: list[float]) -> list[tuple]:
    k = len(radii)
    return [
        (cx + r * radii[i] * math.cos(angle + 2 * math.pi * i / k),
         cy + r * radii[i] * math.sin(angle + 2 * math.pi * i / k))
        for i in range(k)
    ]  # fmt: skip


def draw_shape(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One 32x32x3 uint8 image of ``kind`` with random colour, size, position and rotation."""
    s = SHAPES_SIZE * _SUPERSAMPLE
    fg_i, bg_i = rng.choice(len(PALETTE), size=2, replace=False)
    img = Image.new("RGB", (s, s), tuple(int(v) for v in PALETTE[bg_i]))
    d = ImageDraw.Draw(img)
    fg = tuple(int(v) for v in PALETTE[fg_i])
    r = rng.uniform(0.30, 0.45) * s  # circumradius: 10 to 14 pixels at 32x32
    cx, cy = rng.uniform(r + 2, s - r - 2, size=2)
    angle = rng.uniform(0, 2 * math.pi)
    if kind == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
    elif kind == "ring":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
        ri = r * 0.55
        d.ellipse([cx - ri, cy - ri, cx + ri, cy + ri], fill=tuple(int(v) for v in PALETTE[bg_i]))
    elif kind == "square":
        d.polygon(_polygon(cx, cy, r, angle, [1.0] * 4), fill=fg)
    elif kind == "triangle":
        d.polygon(_polygon(cx, cy, r, angle, [1.0] * 3), fill=fg)
    elif kind == "star":
        d.polygon(_polygon(cx, cy, r, angle, [1.0, 0.42] * 5), fill=fg)
    elif kind == "cross":
        w = r * 0.36
        c, sn = math.cos(angle), math.sin(angle)
        for dx, dy in ((1, 0), (0, 1)):  # two bars
            ax, ay = dx * c - dy * sn, dx * sn + dy * c  # bar direction
            px, py = -ay, ax  # its normal
            d.polygon(
                [(cx + sx * r * ax + sy * w * px, cy + sx * r * ay + sy * w * py)
                 for sx, sy in ((1, 1), (1, -1), (-1, -1), (-1, 1))],
                fill=fg,
            )  # fmt: skip
    else:
        raise ValueError(f"unknown shape {kind!r}; choose one of {', '.join(SHAPE_CLASSES)}")
    img = img.resize((SHAPES_SIZE, SHAPES_SIZE), Image.Resampling.BOX)
    return np.asarray(img)


def _shapes_split(split: str, seed: int) -> ImageData:
    offset = {"train": 0, "val": 1, "test": 2}[split]
    rng = np.random.default_rng([seed, offset])
    n = SHAPES_SPLITS[split]
    labels = np.arange(n) % len(SHAPE_CLASSES)
    rng.shuffle(labels)
    imgs = np.stack([draw_shape(SHAPE_CLASSES[k], rng) for k in labels])  # (N, 32, 32, 3)
    images = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0  # (N, 3, 32, 32)
    return ImageData("shapes", SHAPE_CLASSES, images, torch.from_numpy(labels).long())


def _digits_split(split: str, seed: int) -> ImageData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images).float().unsqueeze(1) / 16.0  # (1797, 1, 8, 8)
    labels = torch.from_numpy(bunch.target).long()
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_test = n_val = 180
    idx = {
        "test": perm[:n_test],
        "val": perm[n_test : n_test + n_val],
        "train": perm[n_test + n_val :],
    }[split]
    return ImageData("digits", DIGIT_CLASSES, images[idx], labels[idx])


IMAGE_DATASETS = {"shapes": (SHAPE_CLASSES, (3, 32, 32)), "digits": (DIGIT_CLASSES, (1, 8, 8))}


@lru_cache(maxsize=8)
def load_images(name: str, split: str, seed: int = 0) -> ImageData:
    """A fixed split (``train``, ``val``, ``test``) of ``digits`` or ``shapes``."""
    if split not in ("train", "val", "test"):
        raise ValueError(f"unknown split {split!r}; choose train, val or test")
    if name == "digits":
        return _digits_split(split, seed)
    if name == "shapes":
        return _shapes_split(split, seed)
    raise ValueError(f"unknown image data set {name!r}; choose one of {', '.join(IMAGE_DATASETS)}")
