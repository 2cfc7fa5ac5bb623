"""RegenLab's Gradio app: a guided walkthrough of X -> Y' -> Y over every registered task.

``from app import demo`` (or ``app.ui.demo``) builds the gr.Blocks without launching it;
``python -m app`` launches it (see app.server for the options).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "demo":
        from app.ui import demo

        return demo
    raise AttributeError(f"module 'app' has no attribute {name!r}")
