"""Reading X and Y from the page's inputs and showing Y, by the task's ``x_kind`` / ``y_kind``;
the files the user downloads (renderings, traces)."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import numpy as np
import torch

from app import limits
from app.limits import BadInput
from app.session import class_names, sample_rate, y_shape
from regenlab.core import Task

DISPLAY_SIDE = 96  # images are enlarged (nearest neighbour) to at least this many pixels a side
Y_KINDS = ("image", "audio", "text")
X_KINDS = ("class", "text", "audio")

# ------------------------------------------------------------------------------ reading X and Y


def read_x(t: Task, x_class: Any, x_text: Any, x_audio: Any) -> list[Any]:
    """X for one input, by the task's x_kind; every given input is checked against the limits."""
    text = limits.check_text(x_text, "the text")
    if x_audio not in (None, ""):
        limits.audio_seconds(x_audio)
    kind = t.x_kind
    if kind == "class":
        if x_class is None or (isinstance(x_class, str) and not x_class.strip()):
            raise BadInput(f"choose a class for X: one of {', '.join(class_names(t))}")
        if isinstance(x_class, float):
            if not math.isfinite(x_class):
                raise BadInput(f"class must be a class name or index, got {x_class!r}")
            x_class = int(x_class) if x_class == int(x_class) else x_class
        return t.parse_x(x_class)
    if kind == "text":
        if not text.strip():
            raise BadInput("type some text for X")
        return t.parse_x(text)
    if kind == "audio":
        if x_audio in (None, ""):
            raise BadInput("upload or record audio for X")
        return t.parse_x(limits.load_audio(x_audio))
    raise BadInput(f"the app cannot read X of kind {kind!r}")


def read_y(t: Task, y_file: Any, y_audio: Any, y_text: Any) -> torch.Tensor | list[str]:
    """A user's own Y by the task's y_kind, made to the task's Y shape, then ``task.check_y``."""
    text = limits.check_text(y_text, "the text")
    if y_audio not in (None, ""):
        limits.audio_seconds(y_audio)
    kind = t.y_kind
    if kind == "image":
        im = limits.open_image(y_file)
        shape = y_shape(t)
        c, h, w = shape
        if im.mode in ("F", "I", "I;16"):  # numeric images may hold NaN or values out of range
            raw = np.asarray(im, dtype=np.float64)
            if not np.isfinite(raw).all():
                raise BadInput("the image contains NaN or infinite values")
            from PIL import Image

            im = Image.fromarray(np.clip(raw, 0, 255).astype(np.uint8))
        im = im.convert("L" if c == 1 else "RGB")
        if im.size != (w, h):
            from PIL import Image

            im = im.resize(
                (w, h), Image.Resampling.BOX if im.width >= w else Image.Resampling.BICUBIC
            )
        a = np.asarray(im, dtype=np.float32) / 255.0
        a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        return t.check_y(torch.from_numpy(np.ascontiguousarray(a)))
    if kind == "audio":
        src = y_audio if y_audio not in (None, "") else y_file
        sr, wav = limits.load_audio(src)
        want = getattr(t, "sample_rate", sr)
        w = torch.from_numpy(wav)
        if sr != want:
            import torchaudio.functional as AF

            w = AF.resample(w, sr, want)
        y = t.check_y(w[None])
        return y if y.dim() > 1 else y[None]  # (1, S): one Y, batched like the examples
    if kind == "text":
        if not text.strip():
            raise BadInput("type some text for Y")
        return t.check_y(text)
    raise BadInput(f"the app cannot read Y of kind {kind!r}")


# ------------------------------------------------------------------------------ showing Y


def _enlarge(a: np.ndarray, side: int) -> np.ndarray:
    f = max(1, math.ceil(DISPLAY_SIDE / max(1, side)))
    return a.repeat(f, 0).repeat(f, 1) if f > 1 else a


def y_values(t: Task, y: Any, cols: int = 8) -> tuple[Any, Any, Any]:
    """(image, audio, text) values for one Y view; only the slot of the task's y_kind is set."""
    if y is None:
        return None, None, None
    if t.y_kind == "image":
        from regenlab.viz import image_grid

        y = y.detach().float().cpu()
        if not torch.isfinite(y).all():
            raise BadInput("the model produced NaN or infinite pixels")
        return _enlarge(image_grid(y, cols=cols, pad=1), y.shape[-1]), None, None
    if t.y_kind == "audio":
        sr = sample_rate(t)
        waves = [w.detach().float().cpu().reshape(-1).numpy() for w in y]
        gap = np.zeros(int(0.3 * sr), np.float32)
        joined = np.concatenate([p for w in waves for p in (w, gap)][:-1]) if waves else gap
        return None, (sr, np.clip(joined, -1, 1)), None
    if t.y_kind == "text":
        items = y if isinstance(y, (list, tuple)) else [y]
        return None, None, "\n".join(f"{i + 1}. {s}" for i, s in enumerate(items))
    raise BadInput(f"the app cannot show Y of kind {t.y_kind!r}")


def side_by_side(t: Task, conversion: str, y_prime: torch.Tensor, title: str, cols: int = 4):
    """One plotly figure with the task's visualisation of each Y' in a grid of subplots."""
    from plotly.subplots import make_subplots

    n = len(y_prime)
    figs = [t.visualize(conversion, y_prime[i : i + 1]) for i in range(n)]
    if n == 1:
        return figs[0]
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    out = make_subplots(rows=rows, cols=cols, subplot_titles=[f"sample {i + 1}" for i in range(n)],
                        horizontal_spacing=0.04, vertical_spacing=0.12 / rows)  # fmt: skip
    for i, f in enumerate(figs):
        r, c = divmod(i, cols)
        for tr in f.data:
            if hasattr(tr, "showscale"):
                tr.showscale = False
            if getattr(tr, "type", "") == "heatmap" and n > 4:
                tr.texttemplate = None
            out.add_trace(tr, row=r + 1, col=c + 1)
        if f.layout.yaxis.autorange == "reversed":
            out.update_yaxes(autorange="reversed", showticklabels=False, row=r + 1, col=c + 1)
            out.update_xaxes(showticklabels=False, row=r + 1, col=c + 1)
    base = figs[0].layout.title.text or ""
    out.update_layout(title=f"{title}: {base}", height=60 + 230 * rows, showlegend=False,
                      margin=dict(l=10, r=10, t=70, b=10))  # fmt: skip
    return out


def write_y_file(t: Task, y: Any, stem: str) -> str | None:
    """The rendered Y as a file the user can download (PNG for images, WAV for audio, TXT)."""
    d = limits.app_temp_dir()
    limits.prune(d)
    img, aud, txt = y_values(t, y)
    path = d / f"{stem}-{uuid.uuid4().hex[:8]}"
    if img is not None:
        from PIL import Image

        path = path.with_suffix(".png")
        Image.fromarray(np.ascontiguousarray(img)).save(path)
    elif aud is not None:
        import soundfile as sf

        path = path.with_suffix(".wav")
        sf.write(str(path), aud[1], aud[0])
    elif txt is not None:
        path = path.with_suffix(".txt")
        path.write_text(txt)
    else:
        return None
    return str(path)


def write_json(record: dict[str, Any], stem: str) -> str:
    d = limits.app_temp_dir()
    path = d / f"{stem}-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(record, indent=1, default=_jsonable))
    return str(path)


def _jsonable(v: Any) -> Any:
    if torch.is_tensor(v):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def _stem(task: str, dataset: str, conversion: str, seed: int) -> str:
    # only validated names and numbers: never a user-supplied path or file name
    return f"regenlab-{task}-{dataset}-{conversion}-seed{seed}"
