"""The app's event handlers: pure functions of their inputs that call regenlab.

Nothing here names a task. What differs between tasks is read from what the task declares:
``x_kind`` (class, text, audio) decides how X is read, ``y_kind`` (image, audio, text) how Y is
read from an upload and shown; conversions, pipelines, cards, visualisations, metrics and
examples all come from the task. Every handler returns plain values (numpy images, (rate,
wave) tuples, plotly figures, markdown, file paths, ``gr.update`` dicts) and raises
``gr.Error`` with a clear message on bad input.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import shlex
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
import torch

from app import limits
from app.limits import BadInput
from regenlab.core import Pipeline, Task, Trace, get_task, task_names, task_spec

CHECKPOINT_SOURCES = ("shipped", "user")
EXAMPLE_POOL = 512  # test examples kept per loaded task (for Inspect and Compare)
DISPLAY_SIDE = 96  # images are enlarged (nearest neighbour) to at least this many pixels a side
Y_KINDS = ("image", "audio", "text")
X_KINDS = ("class", "text", "audio")

# ------------------------------------------------------------------------------ errors


def endpoint(fn: Callable) -> Callable:
    """Turn the lab's ValueError / FileNotFoundError into a gr.Error the user can read."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, FileNotFoundError, KeyError, IndexError) as err:
            raise gr.Error(_message(err)) from err
        except RuntimeError as err:  # e.g. a tensor op refusing odd input: say so, stay up
            raise gr.Error(f"could not compute this: {_message(err)}") from err

    return wrapper


def _message(err: BaseException) -> str:
    msg = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return msg[:1].upper() + msg[1:] if msg else type(err).__name__


# ------------------------------------------------------------------------------ tasks


_TASKS: OrderedDict[tuple[str, str, str], Task] = OrderedDict()
_POOLS: dict[int, tuple[list[Any], torch.Tensor]] = {}
_TASK_LOCK = threading.Lock()
# one pool is built at a time: a data set may be generated on its first use
_POOL_LOCK = threading.Lock()
MAX_LOADED_TASKS = 8


def check_choice(task: Any, dataset: Any, checkpoints: Any) -> tuple[str, str, str]:
    names = task_names()
    if task not in names:
        raise BadInput(f"unknown task {task!r}; choose one of {', '.join(names)}")
    spec = task_spec(task)
    if dataset in (None, ""):
        dataset = spec.datasets[0]
    if dataset not in spec.datasets:
        raise BadInput(
            f"task {task!r} has no data set {dataset!r}; choose one of {', '.join(spec.datasets)}"
        )
    if checkpoints not in CHECKPOINT_SOURCES:
        raise BadInput(
            f"checkpoints must be one of {', '.join(CHECKPOINT_SOURCES)}, got {checkpoints!r}"
        )
    return task, dataset, checkpoints


def load_task(task: str, dataset: str, checkpoints: str = "shipped") -> Task:
    """The task built on ``dataset`` with ``checkpoints``, cached per (task, dataset, source)."""
    key = check_choice(task, dataset, checkpoints)
    with _TASK_LOCK:
        if key in _TASKS:
            _TASKS.move_to_end(key)
            return _TASKS[key]
        try:
            t = get_task(key[0], key[1], checkpoints=key[2])
        except FileNotFoundError as err:
            if key[2] == "user":
                raise BadInput(
                    f"your own checkpoint set for {key[0]}/{key[1]} is incomplete ({err}). Train the "
                    "missing stages in the Train panel (training one stage first copies the other "
                    "shipped stages into your set), or switch back to the shipped checkpoints."
                ) from err
            raise BadInput(
                f"the shipped checkpoints for {key[0]}/{key[1]} are missing: {err}"
            ) from err
        _TASKS[key] = t
        while len(_TASKS) > MAX_LOADED_TASKS:
            old = _TASKS.popitem(last=False)[1]
            _POOLS.pop(id(old), None)
        return t


def forget_tasks(task: str, dataset: str, checkpoints: str = "user") -> None:
    """Drop a cached task (after its checkpoints changed)."""
    with _TASK_LOCK:
        t = _TASKS.pop((task, dataset, checkpoints), None)
        if t is not None:
            _POOLS.pop(id(t), None)
        for key in [k for k in list(_SAMPLES) if k[:3] == (task, dataset, checkpoints)]:
            _SAMPLES.pop(key, None)


def example_pool(t: Task) -> tuple[list[Any], torch.Tensor]:
    """A fixed set of test examples (x, Y) of a loaded task."""
    with _POOL_LOCK:
        if id(t) not in _POOLS:
            _POOLS[id(t)] = t.examples("test", EXAMPLE_POOL, seed=0)
        return _POOLS[id(t)]


def y_shape(t: Task) -> tuple[int, ...]:
    """The shape of one Y: the task's ``y_shape``, else read from the data."""
    return tuple(getattr(t, "y_shape", None) or example_pool(t)[1].shape[1:])


def sample_rate(t: Task) -> int:
    """For y_kind 'audio': the task's ``sample_rate`` (16 kHz where it declares none)."""
    return int(getattr(t, "sample_rate", 16000))


def example_text(t: Task) -> str:
    """For x_kind 'text': the first test example's text (a default X that has a real Y), else ''."""
    if t.x_kind != "text":
        return ""
    x = example_pool(t)[0][0]
    return str(x.get("text", "") if isinstance(x, dict) else x)


def class_names(t: Task) -> list[str]:
    """For x_kind 'class': the class names the task declares (``classes``), else indices."""
    return [str(c) for c in getattr(t, "classes", ())]


def check_conversion(t: Task, conversion: Any) -> str:
    if conversion not in t.conversions:
        raise BadInput(
            f"unknown conversion {conversion!r}; choose one of {', '.join(t.conversions)}"
        )
    return conversion


def pipeline(t: Task, conversion: str) -> Pipeline:
    """The prior + renderer over a Y'; a conversion without a trained prior can only be inspected."""
    if conversion not in t.pipelines:
        raise BadInput(
            f"no prior is trained for Y' = {conversion} (it can be inspected, not sampled); "
            f"choose {' or '.join(t.pipelines)} to sample"
        )
    return t.pipelines[conversion]


def renderers(t: Task, conversion: str) -> dict[str, Any]:
    """The renderers a task offers for a conversion: its pipeline's (if any), plus any the task
    lists in ``renderers(conversion) -> {name: Renderer}`` (optional)."""
    pipe = t.pipelines.get(conversion)
    out = {pipe.renderer.name: pipe.renderer} if pipe else {}
    more = getattr(t, "renderers", None)
    if callable(more):
        out.update(more(conversion))
    return out


def reconstruct(t: Task, conversion: str, y: torch.Tensor, seed: int, renderer: str | None = None):
    """(Y', Y re-rendered from it, the renderer's name) by ``t.reconstruct``, with ``renderer``
    where the task lets one be chosen (else its own default)."""
    param = inspect.signature(t.reconstruct).parameters.get("renderer")
    if param is None:
        pipe = t.pipelines.get(conversion)
        renderer, kw = (pipe.renderer.name if pipe else "task's renderer"), {}
    else:
        renderer = renderer or param.default
        kw = {"renderer": renderer}
    with torch.inference_mode():
        yp, rec = t.reconstruct(conversion, y, seed=seed, **kw)
    return yp, rec, renderer


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


# ------------------------------------------------------------------------------ step 1: Choose


def card_markdown(t: Task, conversion: str) -> str:
    conv = t.conversions[conversion]
    card = conv.card
    shape = y_shape(t)
    yps = conv.y_prime_shape(shape)
    sr = sample_rate(t)
    duration = f" ({shape[-1] / sr:g} s at {sr} Hz)" if t.y_kind == "audio" else ""
    lines = [
        f"### Y' = `{conversion}` ({conv.kind}, {'discrete' if conv.discrete else 'continuous'})",
        f"**Keeps:** {card.keeps}",
        "",
        f"**Drops:** {card.drops}",
        "",
        f"**The three principles** (easy to predict from X, easy to render Y from, compact): {card.principles}",
        "",
        f"Y {tuple(shape)}{duration} → Y' {tuple(yps)}: compression ratio **{conv.compression_ratio(shape):.1f}×** "
        f"in values, {conv.bits_ratio(shape):.1f}× in bits.",
        "",
    ]
    pipe = t.pipelines.get(conversion)
    if pipe is not None:
        lines.append(f"Prior: {pipe.prior.name}; renderer: {pipe.renderer.name}.")
    else:
        lines.append(f"**No prior is trained for this Y'**: inspect it and re-render it "
                     f"({', '.join(renderers(t, conversion)) or 'no renderer'}), but to sample choose "
                     f"{' or '.join(t.pipelines)}.")  # fmt: skip
    return "\n".join(lines)


def choose(task: str, dataset: str, checkpoints: str, conversion: str) -> dict[str, Any]:
    """Everything the page needs to know about a choice (plain values; the UI maps them)."""
    task, _, checkpoints = check_choice(task, None, checkpoints)
    spec = task_spec(task)
    if dataset not in spec.datasets:  # the task was switched: start on its own first data set
        dataset = spec.datasets[0]
    t = load_task(task, dataset, checkpoints)
    convs = list(t.conversions)
    if conversion not in convs:
        conversion = next(iter(t.pipelines), convs[0])
    rend = list(renderers(t, conversion))
    return {
        "task": task,
        "title": spec.title,
        "datasets": list(spec.datasets),
        "dataset": dataset,
        "conversions": convs,
        "conversion": conversion,
        "pipelines": list(t.pipelines),
        "examples": len(example_pool(t)[0]),
        "classes": class_names(t),
        "example_text": example_text(t),
        "x_kind": t.x_kind,
        "y_kind": t.y_kind,
        "renderers": rend,
        "card": card_markdown(t, conversion),
        "status": (
            f"**{spec.title}** on `{dataset}` with the **{checkpoints}** checkpoints "
            f"(`{getattr(t, 'ckpt_dir', '')}`), on `{getattr(t, 'device', 'cpu')}`. "
            f"X is a {t.x_kind}, Y is {'an' if t.y_kind[0] in 'aeiou' else 'a'} {t.y_kind}."
        ),
    }


# ------------------------------------------------------------------------------ step 2: Inspect


def reconstruction_error(t: Task, y: torch.Tensor, rec: Any) -> str | None:
    """The task's ``reconstruction_metrics(y, rec) -> {name: value}`` where it has them, else the
    MSE (and PSNR for images) when Y and its re-rendering have the same shape; as markdown."""
    hook = getattr(t, "reconstruction_metrics", None)
    if callable(hook):
        return ", ".join(f"{k} **{v:.3f}**" for k, v in hook(y, rec).items())
    if not (torch.is_tensor(rec) and rec.shape == y.shape):
        return None
    mse = float((y.float().cpu() - rec.float().cpu()).pow(2).mean())
    psnr = (
        f", PSNR **{10 * math.log10(1 / max(mse, 1e-10)):.1f} dB**" if t.y_kind == "image" else ""
    )
    return f"MSE **{mse:.4f}**{psnr}"


def _inspect(t: Task, conversion: str, y: torch.Tensor, what: str, x: Any = None) -> tuple:
    conv = t.conversions[conversion]
    t0 = time.perf_counter()
    yp, rec, rend = reconstruct(t, conversion, y, seed=0)
    dt = time.perf_counter() - t0
    fig = t.visualize(conversion, yp[:1], x=x)
    shape = tuple(y.shape[1:])
    lines = [f"**{what}** → Y' of shape {tuple(yp.shape[1:])} ({str(yp.dtype).removeprefix('torch.')}) → Y re-rendered by the {rend}.",
             f"- compression ratio: **{conv.compression_ratio(shape):.1f}×** ({conv.bits_ratio(shape):.1f}× in bits)"]  # fmt: skip
    error = reconstruction_error(t, y, rec)
    if error:
        lines.append(f"- reconstruction error: {error}")
    if t.y_kind == "audio":
        sr = sample_rate(t)
        lines.append(
            f"- lengths: Y {y.shape[-1] / sr:.2f} s, re-rendered {rec.shape[-1] / sr:.2f} s"
        )
    if conv.discrete:
        used = int(torch.unique(yp).numel())
        lines.append(f"- {used} distinct codes of {conv.codebook_size} in this Y'")
    lines.append(f"- encode + render took {1000 * dt:.0f} ms")
    return (*y_values(t, y), fig, *y_values(t, rec), "\n".join(lines))


@endpoint
def inspect_example(
    task: str, dataset: str, checkpoints: str, conversion: str, index: float
) -> tuple:
    """A test example: Y, the plot of its Y', Y re-rendered from that Y', and the numbers."""
    t = load_task(*check_choice(task, dataset, checkpoints))
    conversion = check_conversion(t, conversion)
    xs, ys = example_pool(t)
    i = limits.as_int(index, "example index", 0, len(xs) - 1)
    x = xs[i]
    name = class_names(t)[x] if t.x_kind == "class" and class_names(t) else x
    return _inspect(t, conversion, ys[i : i + 1], f"Test example {i} (X = {name!r})", x)


@endpoint
def inspect_upload(
    task: str,
    dataset: str,
    checkpoints: str,
    conversion: str,
    y_file: Any,
    y_audio: Any,
    y_text: Any,
) -> tuple:
    """The user's own Y (uploaded image, uploaded or recorded audio, or typed text)."""
    t = load_task(*check_choice(task, dataset, checkpoints))
    conversion = check_conversion(t, conversion)
    y = read_y(t, y_file, y_audio, y_text)
    what = f"Your {t.y_kind}" + (
        f", made {'x'.join(map(str, y_shape(t)[1:]))}" if t.y_kind == "image" else ""
    )
    return _inspect(t, conversion, y, what)


# ------------------------------------------------------------------------------ step 3: Sample


_SAMPLES: OrderedDict[tuple, tuple[torch.Tensor, float]] = OrderedDict()
MAX_CACHED_SAMPLES = 32


def sampling_args(n: Any, temperature: Any, seed: Any) -> tuple[int, float, int]:
    return (
        limits.as_int(n, "number of samples", 1, limits.MAX_SAMPLES),
        limits.as_float(temperature, "temperature", 0.0, limits.MAX_TEMPERATURE),
        limits.as_int(seed, "seed", 0, limits.MAX_SEED),
    )


def sample_y_prime(
    t: Task, key: tuple, conversion: str, x: list[Any], n: int, temperature: float, seed: int
) -> tuple[torch.Tensor, float]:
    """Y' ~ P(Y'|X), cached by everything that determines it (the same seed gives the same Y')."""
    full = (*key, conversion, tuple(x), n, temperature, seed)
    if full in _SAMPLES:
        return _SAMPLES[full]
    t0 = time.perf_counter()
    with torch.inference_mode():
        yp = pipeline(t, conversion).prior.sample(x, n=n, temperature=temperature, seed=seed)
    out = (yp, time.perf_counter() - t0)
    _SAMPLES[full] = out
    while len(_SAMPLES) > MAX_CACHED_SAMPLES:
        _SAMPLES.popitem(last=False)
    return out


def _x_name(t: Task, x: list[Any]) -> str:
    names = class_names(t)
    if t.x_kind == "class" and names:
        return ", ".join(names[i] for i in x)
    s = str(x[0]) if len(x) == 1 else str(x)
    return s if len(s) < 60 else s[:57] + "..."


def sampling_request(task: Any, dataset: Any, checkpoints: Any, conversion: Any, x_class: Any, x_text: Any,
                     x_audio: Any, n: Any, temperature: Any, seed: Any) -> tuple:  # fmt: skip
    """Validate what Sample, Render and Compare share: (key, task, conversion, x, n, temperature, seed)."""
    key = check_choice(task, dataset, checkpoints)
    t = load_task(*key)
    conversion = check_conversion(t, conversion)
    pipeline(t, conversion)  # all three need a prior over this Y'
    x = read_x(t, x_class, x_text, x_audio)
    return (key, t, conversion, x, *sampling_args(n, temperature, seed))


@endpoint
def sample(task: str, dataset: str, checkpoints: str, conversion: str, x_class: Any, x_text: Any, x_audio: Any,
           n: float, temperature: float, seed: float) -> tuple:  # fmt: skip
    """n samples Y' ~ P(Y'|X) side by side, and what they are."""
    key, t, conversion, x, n, temperature, seed = sampling_request(
        task, dataset, checkpoints, conversion, x_class, x_text, x_audio, n, temperature, seed
    )
    yp, dt = sample_y_prime(t, key, conversion, x, n, temperature, seed)
    fig = side_by_side(t, conversion, yp, f"{n} samples of Y' ~ P(Y'|X = {_x_name(t, x)})")
    lines = [f"**{n} sample{'s' if n > 1 else ''} of Y'** from the {t.pipelines[conversion].prior.name} prior, "
             f"temperature {temperature:g}, seed {seed}: shape {tuple(yp.shape)}, sampled in {1000 * dt:.0f} ms.",
             "One X, many Y': the prior is a distribution, so the samples differ; the same seed gives the same samples."]  # fmt: skip
    if yp.dtype.is_floating_point:
        lines.append(
            f"- spread across samples (mean std per value): {float(yp.float().std(0).mean()) if n > 1 else 0.0:.3f}"
        )
    else:
        lines.append(
            f"- positions where samples disagree: {float((yp != yp[:1]).flatten(1).any(0).float().mean()) if n > 1 else 0.0:.0%}"
        )
    return fig, "\n".join(lines)


# ------------------------------------------------------------------------------ step 4: Render


@endpoint
def render(task: str, dataset: str, checkpoints: str, conversion: str, x_class: Any, x_text: Any, x_audio: Any,
           n: float, temperature: float, seed: float, renderer: Any) -> tuple:  # fmt: skip
    """Y ~ P(Y|Y') for the Y' of step 3 (same settings, same samples), with downloads."""
    key, t, conversion, x, n, temperature, seed = sampling_request(
        task, dataset, checkpoints, conversion, x_class, x_text, x_audio, n, temperature, seed
    )
    rends = renderers(t, conversion)
    pipe = pipeline(t, conversion)
    if renderer in (None, ""):
        renderer = next(iter(rends))
    if renderer not in rends:
        raise BadInput(f"unknown renderer {renderer!r}; choose one of {', '.join(rends)}")
    yp, dt_prior = sample_y_prime(t, key, conversion, x, n, temperature, seed)
    t0 = time.perf_counter()
    with torch.inference_mode():
        y = rends[renderer].sample(yp, n=1, seed=seed + 1)  # the seed Pipeline.sample uses
    dt = time.perf_counter() - t0
    stem = _stem(key[0], key[1], conversion, seed)
    trace = Trace(pipeline=conversion, x=x, n=n, temperature=temperature, seed=seed, y_prime=yp.cpu(), y=y.cpu(),
                  seconds={"prior": dt_prior, "renderer": dt})  # fmt: skip
    record = {"task": key[0], "dataset": key[1], "checkpoints": key[2], "renderer": renderer,
              "x_readable": _x_name(t, x), **trace.summary(),
              "metrics": {"seconds_prior": dt_prior, "seconds_renderer": dt},
              "reproduce": f"regenlab sample {key[0]} --data {key[1]} --x {shlex.quote(str(x[0]))} --conversion {conversion} --n {n} --temperature {temperature:g} --seed {seed} --checkpoints {key[2]} --out OUT"}  # fmt: skip
    if renderer != pipe.renderer.name or t.x_kind == "audio":  # the CLI renders with the pipeline's
        record.pop("reproduce")
    md = (f"**Y rendered by the {renderer}** from the {n} Y' of step 3 (render seed {seed + 1}) in {1000 * dt:.0f} ms. "
          "Download the rendering and the whole trace (x, seed, settings, Y', timings) below.")  # fmt: skip
    return (*y_values(t, y), write_y_file(t, y, stem), write_json(record, stem + "-trace"), md)


# ------------------------------------------------------------------------------ step 5: Compare


def _score(t: Task, y: torch.Tensor, x: list[Any], n: int) -> dict[str, float]:
    """The task's own metrics (``score``), or nothing when it has none; never fails the call."""
    score = getattr(t, "score", None)
    if not callable(score):
        return {}
    labels = (
        torch.as_tensor(list(x)).repeat_interleave(n)
        if t.x_kind == "class"
        else [v for v in x for _ in range(n)]
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.inference_mode():
                return {k: float(v) for k, v in score(y, labels).items()}
    except Exception as err:  # e.g. diversity needs >= 2 samples per class
        return {"note": f"not measurable here ({type(err).__name__}); use 2 or more samples"}


def _same_x(t: Task, example_x: Any, x: list[Any]) -> bool:
    """Whether a test example's X is the given one (an X given as a dict matches by its text)."""
    if t.x_kind == "class":
        return example_x in x
    return (example_x.get("text") if isinstance(example_x, dict) else example_x) == x[0]


def _true_examples(t: Task, x: list[Any], n: int) -> torch.Tensor | None:
    """Up to n test examples whose X is the given one, else None."""
    xs, ys = example_pool(t)
    idx = [i for i, v in enumerate(xs) if _same_x(t, v, x)][:n]
    return ys[idx] if idx else None


TIMING = ("ms per sample", "real-time factor")


def _timing(t: Task, y: torch.Tensor, seconds: float) -> dict[str, float]:
    """Milliseconds per sample; for audio also the real-time factor (compute s per audio s)."""
    out = {"ms per sample": 1000 * seconds / len(y)}
    if t.y_kind == "audio":
        audio_seconds = y.shape[0] * y.shape[-1] / sample_rate(t)
        out["real-time factor"] = seconds / max(audio_seconds, 1e-9)
    return out


@endpoint
def compare(task: str, dataset: str, checkpoints: str, conversion: str, x_class: Any, x_text: Any, x_audio: Any,
            n: float, temperature: float, seed: float) -> tuple:  # fmt: skip
    """Regeneration vs direct on the same X and seed, the task's metrics, true Y' vs predicted Y'."""
    key, t, conversion, x, n, temperature, seed = sampling_request(
        task, dataset, checkpoints, conversion, x_class, x_text, x_audio, n, temperature, seed
    )
    pipe = pipeline(t, conversion)
    yp, dt_prior = sample_y_prime(t, key, conversion, x, n, temperature, seed)
    with torch.inference_mode():
        t0 = time.perf_counter()
        y_regen = pipe.renderer.sample(yp, n=1, seed=seed + 1)
        dt_render = time.perf_counter() - t0
        t0 = time.perf_counter()
        y_direct = t.direct.sample(x, n=n, temperature=temperature, seed=seed)
        dt_direct = time.perf_counter() - t0
    y_true = _true_examples(t, x, n)
    y_from_true = None
    if y_true is not None:
        _, y_from_true, _ = reconstruct(t, conversion, y_true, seed + 1, pipe.renderer.name)
    m_regen = _score(t, y_regen, x, n) | _timing(t, y_regen, dt_prior + dt_render)
    m_direct = _score(t, y_direct, x, n) | _timing(t, y_direct, dt_direct)
    cols = sorted({k for m in (m_regen, m_direct) for k in m}, key=lambda k: (k in TIMING, k))
    table = [[f"regeneration ({conversion})", *[_fmt(m_regen.get(c)) for c in cols]],
             [f"{t.direct.name}", *[_fmt(m_direct.get(c)) for c in cols]]]  # fmt: skip
    md = (f"Same X ({_x_name(t, x)}), same seed ({seed}), same temperature ({temperature:g}), {n} samples each. "
          "Bottom row: Y rendered from the **true** Y' (encoded from real examples of this X) vs from the "
          "**predicted** Y' (sampled by the prior). The gap between them is the training–inference mismatch "
          "of the paper's section 4.3: the renderer was trained on true Y' and is fed predicted Y' at inference.")  # fmt: skip
    stem = _stem(key[0], key[1], conversion, seed) + "-compare"
    record = {"task": key[0], "dataset": key[1], "checkpoints": key[2], "conversion": conversion,
              "x": x, "x_readable": _x_name(t, x), "n": n, "temperature": temperature, "seed": seed,
              "y_prime": Trace(conversion, x, n, temperature, seed, yp.cpu(), y_regen.cpu()).summary()["y_prime"],
              "metrics": {"regeneration": m_regen, "direct": m_direct}}  # fmt: skip
    return (*y_values(t, y_regen), *y_values(t, y_direct), *y_values(t, y_true), *y_values(t, y_from_true),
            pd.DataFrame(table, columns=["route", *cols]), md, write_json(record, stem))  # fmt: skip


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)
