"""Launching the app with the lab's safe defaults (used by ``python -m app`` and the tests)."""

from __future__ import annotations

import os

import torch

from app import limits

QUEUE_MAX = 32  # requests waiting at most; more are refused
CONCURRENCY = 2  # events running at once (2 CPU cores in the reference machine)


def configure_torch() -> None:
    """On the CPU, one thread per request: the app runs requests side by side, and the small
    models here lose time to thread hand-offs (``REGENLAB_APP_THREADS`` overrides)."""
    from regenlab.device import default_device

    if default_device().type == "cpu":
        torch.set_num_threads(int(os.environ.get("REGENLAB_APP_THREADS", "1")))


def launch_options() -> dict:
    """``launch()`` keyword arguments: local only, no share link, no SSR, no monitoring, limits."""
    return dict(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        share=False,
        ssr_mode=False,
        enable_monitoring=False,
        max_file_size=limits.MAX_UPLOAD,
        allowed_paths=[],
        show_error=False,
        mcp_server=False,
        pwa=False,
    )


def serve(port: int | None = None, prevent_thread_lock: bool = False, quiet: bool = False):
    """Build the queue and launch ``app.ui.demo``; returns launch()'s (app, local_url, share_url)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    configure_torch()
    from app.ui import demo

    opts = launch_options()
    if port is not None:
        opts["server_port"] = port
    demo.queue(max_size=QUEUE_MAX, default_concurrency_limit=CONCURRENCY)
    return demo.launch(prevent_thread_lock=prevent_thread_lock, quiet=quiet, **opts)
