"""The app's state: loaded tasks (cached per task, data set and checkpoint source), their
example pools, and the cache of sampled Y' (the same settings give the same samples)."""

from __future__ import annotations

import inspect
import threading
import time
from collections import OrderedDict
from typing import Any

import torch

from app.limits import BadInput
from regenlab.core import Pipeline, Task, get_task, task_names, task_spec

CHECKPOINT_SOURCES = ("shipped", "user")
EXAMPLE_POOL = 512  # test examples kept per loaded task (for Inspect and Compare)

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


# ------------------------------------------------------------------------------ sampled Y'


_SAMPLES: OrderedDict[tuple, tuple[torch.Tensor, float]] = OrderedDict()
MAX_CACHED_SAMPLES = 32


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
