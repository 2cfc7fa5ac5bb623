"""The paradigm's nouns: Conversion, Prior, Renderer, Pipeline, Direct, Task, and the task registry.

Regeneration learning (paper, section 2.1) replaces one hard mapping X -> Y by

    Step 1  conversion   Y  -> Y'          (no labels needed)
    Step 2  prior        Y' ~ P(Y'|X)      (the generation part)
    Step 3  renderer     Y  ~ P(Y|Y')      (self-supervised, Y' is computed from Y)

Inference is two samplings. Every sampler here therefore takes ``n`` (samples per input),
``temperature`` and ``seed``: the same seed gives the same samples, different seeds differ.
"""

from __future__ import annotations

import json
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

ConversionKind = Literal["explicit", "implicit", "extended"]


def check_sampling_args(n: int, temperature: float) -> None:
    """Raise ValueError unless n is a positive int and temperature a finite number >= 0."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if (
        not isinstance(temperature, (int, float))
        or not math.isfinite(temperature)
        or temperature < 0
    ):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")


def check_finite(t: torch.Tensor, what: str) -> None:
    """Raise ValueError if ``t`` holds NaN or infinity."""
    if not torch.is_tensor(t):
        raise ValueError(f"{what} must be a torch.Tensor, got {type(t).__name__}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{what} contains NaN or infinite values")


@dataclass(frozen=True)
class Card:
    """What a Y' keeps and drops, judged by the paper's three principles (section 4.1)."""

    keeps: str  # information about Y that survives Y -> Y'
    drops: str  # what the renderer must re-create
    principles: str  # 1 easy to predict from X, 2 easy to render Y from, 3 compact


class Conversion(ABC):
    """Y -> Y' (Step 1). ``encode`` is deterministic; no labels are needed."""

    name: str
    kind: ConversionKind
    discrete: bool
    card: Card

    @abstractmethod
    def encode(self, y: torch.Tensor) -> torch.Tensor:
        """Y (B, ...) -> Y' (B, ...)."""

    @abstractmethod
    def y_prime_shape(self, y_shape: Sequence[int]) -> tuple[int, ...]:
        """The shape of one Y' for one Y of shape ``y_shape`` (no batch axis)."""

    def compression_ratio(self, y_shape: Sequence[int]) -> float:
        """Number of values in Y over number of values in Y'."""
        return math.prod(y_shape) / math.prod(self.y_prime_shape(y_shape))

    def bits_ratio(self, y_shape: Sequence[int], y_bits: int = 8) -> float:
        """Bits in Y (``y_bits`` per value) over bits in Y' (log2 K per token, 32 per float)."""
        per_value = math.log2(self.codebook_size) if self.discrete else 32.0
        return math.prod(y_shape) * y_bits / (math.prod(self.y_prime_shape(y_shape)) * per_value)

    codebook_size: int = 0  # K for a discrete Y'


class Prior(ABC):
    """Y' ~ P(Y'|X) (Step 2)."""

    name: str

    @abstractmethod
    def sample(
        self, x: Sequence[Any], n: int = 1, temperature: float = 1.0, seed: int | None = None
    ) -> torch.Tensor:
        """For each of the B inputs, n samples of Y': (B * n, ...), grouped by input."""


class Renderer(ABC):
    """Y ~ P(Y|Y') (Step 3)."""

    name: str

    @abstractmethod
    def sample(self, y_prime: torch.Tensor, n: int = 1, seed: int | None = None) -> torch.Tensor:
        """For each of the B Y', n renderings Y: (B * n, ...), grouped by Y'."""


class Direct(ABC):
    """The baseline X -> Y learned in one step, with the same data and budget."""

    name: str

    @abstractmethod
    def sample(
        self, x: Sequence[Any], n: int = 1, temperature: float = 1.0, seed: int | None = None
    ) -> torch.Tensor:
        """For each of the B inputs, n samples of Y: (B * n, ...), grouped by input."""


@dataclass
class Trace:
    """Everything one run of a Pipeline saw: x, each Y', each Y and how long each stage took."""

    pipeline: str
    x: list[Any]
    n: int
    temperature: float
    seed: int | None
    y_prime: torch.Tensor  # (B * n, ...)
    y: torch.Tensor  # (B * n, ...)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A JSON-able record that is enough to reproduce the run."""
        yp = self.y_prime
        return {
            "pipeline": self.pipeline,
            "x": list(self.x),
            "n": self.n,
            "temperature": self.temperature,
            "seed": self.seed,
            "y_prime": {
                "shape": list(yp.shape),
                "dtype": str(yp.dtype).removeprefix("torch."),
                "values": yp.flatten(1).tolist() if yp.numel() <= 200_000 else None,
            },
            "y_shape": list(self.y.shape),
            "seconds": self.seconds,
        }

    def to_json(self) -> str:
        return json.dumps(self.summary())


@dataclass
class Pipeline:
    """Regeneration: a prior and a renderer over one Y'. ``sample`` is the paper's two samplings."""

    name: str
    conversion: Conversion
    prior: Prior
    renderer: Renderer

    def sample(
        self, x: Sequence[Any], n: int = 1, temperature: float = 1.0, seed: int | None = None
    ) -> Trace:
        check_sampling_args(n, temperature)
        t0 = time.perf_counter()
        y_prime = self.prior.sample(x, n=n, temperature=temperature, seed=seed)  # Y' ~ P(Y'|X)
        t1 = time.perf_counter()
        render_seed = None if seed is None else seed + 1
        y = self.renderer.sample(y_prime, n=1, seed=render_seed)  # Y ~ P(Y|Y')
        t2 = time.perf_counter()
        return Trace(
            pipeline=self.name,
            x=list(x),
            n=n,
            temperature=float(temperature),
            seed=seed,
            y_prime=y_prime,
            y=y,
            seconds={"prior": t1 - t0, "renderer": t2 - t1},
        )


class Task(ABC):
    """One generation task bound to one data set and one set of checkpoints."""

    name: str
    dataset: str
    x_kind: Literal["class", "text", "audio"]
    y_kind: Literal["image", "audio", "text"]
    y_shape: tuple[int, ...]  # one Y, no batch axis
    classes: tuple[str, ...] = ()  # the values X can take when x_kind is "class"
    conversions: dict[str, Conversion]
    pipelines: dict[str, Pipeline]  # keyed by the conversion's name
    direct: Direct

    @abstractmethod
    def examples(self, split: str, n: int, seed: int = 0) -> tuple[list[Any], torch.Tensor]:
        """``n`` (x, Y) pairs from a split of the data set."""

    @abstractmethod
    def parse_x(self, x: Any) -> list[Any]:
        """Validate user-given X; raise ValueError with a clear message."""

    @abstractmethod
    def check_y(self, y: torch.Tensor) -> torch.Tensor:
        """Validate a user-given Y (shape, range, NaN); raise ValueError."""

    @abstractmethod
    def visualize(self, conversion: str, y_prime: torch.Tensor, x: Any = None) -> Any:
        """A plotly figure of one Y' (``x``, when known, may annotate it, e.g. an alignment)."""

    @abstractmethod
    def evaluate(
        self, n_per_class: int = 50, seed: int = 0, temperature: float = 0.8
    ) -> dict[str, Any]:
        """Measured metrics for conversions, pipelines and the direct baseline."""


@dataclass(frozen=True)
class Trainer:
    """How a task's stages train: ``train_stage(dataset, stage, preset, ckpt_dir, *, on_step,
    should_stop, device) -> record``, stage by stage in the order of ``stages``."""

    stages: tuple[str, ...]
    presets: tuple[str, ...]
    train_stage: Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class TaskSpec:
    """A registry entry: how to build a Task, and what to show before building it."""

    name: str
    title: str
    datasets: tuple[str, ...]
    build: Callable[..., Task]
    trainer: Trainer | None = None  # None: the task has no trainable stages


_REGISTRY: dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add a task to the registry (the app and notebooks enumerate it)."""
    _REGISTRY[spec.name] = spec
    return spec


def task_names() -> list[str]:
    _load_builtin_tasks()
    return sorted(_REGISTRY)


def task_spec(name: str) -> TaskSpec:
    _load_builtin_tasks()
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def get_task(name: str, dataset: str | None = None, **kwargs: Any) -> Task:
    """Build a registered task on ``dataset`` (its first data set by default)."""
    spec = task_spec(name)
    dataset = dataset or spec.datasets[0]
    if dataset not in spec.datasets:
        raise ValueError(
            f"task {name!r} has no data set {dataset!r}; choose one of {', '.join(spec.datasets)}"
        )
    return spec.build(dataset=dataset, **kwargs)


def _load_builtin_tasks() -> None:
    import regenlab.tasks  # noqa: F401  (registers the built-in tasks on import)
