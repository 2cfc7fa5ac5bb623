"""The app's event handlers: pure functions of their inputs that call regenlab.

Nothing here names a task. What differs between tasks is read from what the task declares:
``x_kind`` (class, text, audio) decides how X is read, ``y_kind`` (image, audio, text) how Y is
read from an upload and shown; conversions, pipelines, cards, visualisations, metrics and
examples all come from the task. Every handler returns plain values (numpy images, (rate,
wave) tuples, plotly figures, markdown, file paths, ``gr.update`` dicts) and raises
``gr.Error`` with a clear message on bad input. The loaded tasks and the cache of sampled Y'
live in ``app/session.py``; reading X and Y and showing Y in ``app/views.py``.
"""

from __future__ import annotations

import functools
import math
import shlex
import time
import warnings
from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd
import torch

from app import limits
from app.limits import BadInput
from app.session import (  # noqa: F401  (check_choice, forget_tasks, load_task: used by training.py and tests)
    EXAMPLE_POOL,
    check_choice,
    check_conversion,
    class_names,
    example_pool,
    example_text,
    forget_tasks,
    load_task,
    pipeline,
    reconstruct,
    renderers,
    sample_rate,
    sample_y_prime,
    y_shape,
)
from app.views import _stem, read_x, read_y, side_by_side, write_json, write_y_file, y_values
from regenlab.core import Task, Trace, task_spec

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


def sampling_args(n: Any, temperature: Any, seed: Any) -> tuple[int, float, int]:
    return (
        limits.as_int(n, "number of samples", 1, limits.MAX_SAMPLES),
        limits.as_float(temperature, "temperature", 0.0, limits.MAX_TEMPERATURE),
        limits.as_int(seed, "seed", 0, limits.MAX_SEED),
    )


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
