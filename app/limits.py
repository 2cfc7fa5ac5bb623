"""What the app accepts, checked before anything is decoded where the format allows it.

Every check raises ``BadInput`` (a ValueError) with a message meant for the user; the handlers
turn it into a ``gr.Error`` and the app stays up.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # per file
MAX_UPLOAD = "20mb"  # the same, for gr.Blocks.launch(max_file_size=...)
MAX_TEXT_CHARS = 500
MAX_AUDIO_SECONDS = 30.0
MAX_IMAGE_SIDE = 4096  # pixels, checked from the header before decoding
MAX_SAMPLES = 16  # samples per call (n)
MAX_TEMPERATURE = 2.0
MAX_SEED = 2**31 - 1
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")


class BadInput(ValueError):
    """Input the app refuses, with a message for the user."""


def check_file(path: Any, what: str) -> Path:
    """An uploaded file that exists and is at most MAX_UPLOAD_BYTES."""
    if path is None or (isinstance(path, str) and not path.strip()):
        raise BadInput(f"no {what} given: upload one first")
    if isinstance(path, dict):  # a FileData dict from an API call
        path = path.get("path")
    p = Path(str(path))
    if not p.is_file():
        raise BadInput(f"the {what} could not be read (not a file)")
    size = p.stat().st_size
    if size == 0:
        raise BadInput(f"the {what} is empty (0 bytes)")
    if size > MAX_UPLOAD_BYTES:
        raise BadInput(
            f"the {what} is {size / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB"
        )
    return p


def open_image(path: Any):
    """A decoded PIL image, after its header has shown a known format and sides <= MAX_IMAGE_SIDE."""
    from PIL import Image, UnidentifiedImageError

    p = check_file(path, "image")
    try:
        im = Image.open(p)  # reads the header only
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise BadInput(
            f"the upload is not an image this app can read ({', '.join(IMAGE_FORMATS)})"
        ) from err
    if im.format not in IMAGE_FORMATS:
        raise BadInput(
            f"unsupported image format {im.format}; use one of {', '.join(IMAGE_FORMATS)}"
        )
    w, h = im.size
    if max(w, h) > MAX_IMAGE_SIDE:
        raise BadInput(f"the image is {w}x{h} pixels; the limit is {MAX_IMAGE_SIDE} pixels a side")
    if w < 1 or h < 1:
        raise BadInput("the image has no pixels")
    try:
        im.load()
    except Exception as err:  # truncated or corrupted data
        raise BadInput("the image file is corrupted or truncated") from err
    return im


def check_text(text: Any, what: str = "text") -> str:
    """A string of at most MAX_TEXT_CHARS characters ('' when None)."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise BadInput(f"{what} must be text, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise BadInput(f"{what} has {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
    return text


def audio_seconds(path: Any) -> float:
    """The duration of an audio file from its header; BadInput beyond MAX_AUDIO_SECONDS."""
    import soundfile as sf

    p = check_file(path, "audio file")
    try:
        info = sf.info(str(p))
    except Exception as err:
        raise BadInput("the upload is not audio this app can read (WAV, FLAC, OGG)") from err
    if info.samplerate <= 0 or info.frames <= 0:
        raise BadInput("the audio file holds no samples")
    seconds = info.frames / info.samplerate
    if seconds > MAX_AUDIO_SECONDS:
        raise BadInput(f"the audio is {seconds:.1f} s long; the limit is {MAX_AUDIO_SECONDS:.0f} s")
    return seconds


def load_audio(path: Any):
    """(sample_rate, float32 mono waveform) of a checked audio file; NaN is refused."""
    import numpy as np
    import soundfile as sf

    audio_seconds(path)
    try:
        data, sr = sf.read(str(Path(str(path))), dtype="float32", always_2d=True)
    except Exception as err:
        raise BadInput("the audio file is corrupted") from err
    wav = data.mean(1)
    if not np.isfinite(wav).all():
        raise BadInput("the audio contains NaN or infinite samples")
    return sr, wav


def as_int(v: Any, name: str, lo: int, hi: int) -> int:
    """An integer in [lo, hi] (a float with no fraction is accepted); BadInput otherwise."""
    if isinstance(v, bool) or v is None or v == "":
        raise BadInput(f"{name} must be a whole number from {lo} to {hi}")
    try:
        f = float(v)
    except (TypeError, ValueError) as err:
        raise BadInput(f"{name} must be a whole number from {lo} to {hi}, got {v!r}") from err
    if not math.isfinite(f) or f != int(f) or not lo <= f <= hi:
        raise BadInput(f"{name} must be a whole number from {lo} to {hi}, got {v!r}")
    return int(f)


def as_float(v: Any, name: str, lo: float, hi: float) -> float:
    """A finite number in [lo, hi]; BadInput for NaN, infinity or anything else."""
    if isinstance(v, bool) or v is None or v == "":
        raise BadInput(f"{name} must be a number from {lo} to {hi}")
    try:
        f = float(v)
    except (TypeError, ValueError) as err:
        raise BadInput(f"{name} must be a number from {lo} to {hi}, got {v!r}") from err
    if not math.isfinite(f) or not lo <= f <= hi:
        raise BadInput(f"{name} must be a finite number from {lo} to {hi}, got {v!r}")
    return f


def app_temp_dir() -> Path:
    """The one folder the app writes its downloads to (inside the system temp dir)."""
    import tempfile

    d = Path(tempfile.gettempdir()) / "regenlab-app"
    d.mkdir(mode=0o700, exist_ok=True)
    return d


def prune(folder: Path, keep: int = 200) -> None:
    """Delete all but the ``keep`` newest files in ``folder``."""
    files = sorted((f for f in folder.iterdir() if f.is_file()), key=lambda f: f.stat().st_mtime)
    for f in files[:-keep] if len(files) > keep else []:
        try:
            os.unlink(f)
        except OSError:
            pass
