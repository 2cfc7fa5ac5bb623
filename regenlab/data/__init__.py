"""Data sources. Nothing is downloaded: digits ship with scikit-learn, shapes are generated."""

from regenlab.data.images import IMAGE_DATASETS, ImageData, load_images

__all__ = ["IMAGE_DATASETS", "ImageData", "load_images"]
