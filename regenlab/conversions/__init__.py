"""Conversions Y -> Y': explicit (fixed rules) and implicit (learned encoders)."""

from regenlab.conversions.image import Downsample, VAELatent, VQTokens

__all__ = ["Downsample", "VAELatent", "VQTokens"]
