"""RegenLab: a lab for regeneration learning (X -> Y' -> Y), every stage visible and runnable."""

from regenlab.core import (
    Conversion,
    Direct,
    Pipeline,
    Prior,
    Renderer,
    Task,
    Trace,
    Trainer,
    get_task,
    register_task,
    task_names,
)
from regenlab.device import default_device

__all__ = [
    "Conversion",
    "Direct",
    "Pipeline",
    "Prior",
    "Renderer",
    "Task",
    "Trace",
    "Trainer",
    "default_device",
    "get_task",
    "register_task",
    "task_names",
]
__version__ = "0.1.0"
