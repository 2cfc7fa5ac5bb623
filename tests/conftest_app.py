"""Helpers for the app's tests: one live server per test session, and bad-input files.

Imported by tests/test_app_api.py and tests/test_browser.py (not a conftest.py, which belongs
to the library's tests). The server uses the shipped checkpoints (``REGENLAB_ASSETS`` points
elsewhere, e.g. at smoke checkpoints) and writes user checkpoints to a temporary
``REGENLAB_HOME`` unless one is set; that home shares the default one's generated data sets
(``data/``), which would otherwise be generated again in every session.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

_SERVER: dict = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shipped_ready() -> tuple[bool, str]:
    """Whether every registered task has loadable shipped checkpoints (with a reason if not)."""
    from app import handlers
    from regenlab.core import task_names, task_spec

    for name in task_names():
        for ds in task_spec(name).datasets:
            try:
                handlers.load_task(name, ds, "shipped")
            except Exception as err:  # noqa: BLE001
                return False, f"shipped checkpoints for {name}/{ds} unavailable: {err}"
    return True, ""


def server_url() -> str:
    """Launch app.ui.demo once per session on a free port (no thread lock) and return its URL."""
    if "url" not in _SERVER:
        if "REGENLAB_HOME" not in os.environ:
            home = Path(tempfile.mkdtemp(prefix="regenlab-home-"))
            data = Path.home() / ".cache" / "regenlab" / "data"
            data.mkdir(parents=True, exist_ok=True)
            (home / "data").symlink_to(data, target_is_directory=True)
            os.environ["REGENLAB_HOME"] = str(home)
        ok, why = shipped_ready()
        if not ok:
            pytest.skip(why)
        from app.server import serve

        _, url, _ = serve(port=free_port(), prevent_thread_lock=True, quiet=True)
        _SERVER["url"] = url.rstrip("/") + "/"
    return _SERVER["url"]


def all_choices() -> list[tuple[str, str]]:
    """(task, dataset) for every registered task and data set."""
    from regenlab.core import task_names, task_spec

    return [(t, ds) for t in task_names() for ds in task_spec(t).datasets]


def artifacts_dir() -> Path:
    d = Path(__file__).resolve().parent / "artifacts"
    d.mkdir(exist_ok=True)
    return d
