"""The Train panel: train one stage of a task from scratch into the user's own checkpoint set.

A task's trainer comes from its registry entry (``TaskSpec.trainer``: stages, presets and
``train_stage``); the app names no task.

A pipeline needs every stage, so before a stage is trained the user's set is completed by copying
the missing stages from the shipped set (never the other way round). The user's set is then
always loadable, and "your own checkpoints" means "shipped, except the stages you retrained".
Results are written by regenlab's atomic checkpoint writer under ``zoo.user_root()`` only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import gradio as gr

from app import handlers
from app.limits import BadInput
from regenlab import zoo
from regenlab.core import Trainer, task_spec
from regenlab.device import default_device

PRESETS_OFFERED = ("lab", "smoke")
_STOPS: dict[str, threading.Event] = {}  # session -> stop flag of its running training
_STOPS_LOCK = threading.Lock()


def trainer(task: str) -> Trainer:
    """How ``task``'s stages train, as its registry entry declares; BadInput when it has none."""
    try:
        spec = task_spec(task)
    except ValueError as err:
        raise BadInput(str(err)) from err
    if spec.trainer is None:
        raise BadInput(f"task {task!r} has no trainable stages")
    return spec.trainer


def stages(task: str) -> list[str]:
    try:
        return list(trainer(task).stages)
    except BadInput:
        return []


def user_dir(task: str, dataset: str) -> Path:
    return zoo.user_root() / task / dataset


def shipped_dir(task: str, dataset: str) -> Path:
    return zoo.shipped_root() / task / dataset


def set_status(task: str, dataset: str) -> str:
    """Which stages the user's own set holds, as markdown."""
    names = stages(task)
    if not names:
        return f"Task `{task}` declares no trainer."
    d = user_dir(task, dataset)
    have = [s for s in names if (d / f"{s}.safetensors").exists()]
    trained = []
    for s in have:
        try:
            if zoo.read_record(d / s).get("meta", {}).get("copied_from_shipped"):
                continue
        except Exception:
            pass
        trained.append(s)
    missing = [s for s in names if s not in have]
    return (f"Your own set for `{task}/{dataset}` (`{d}`): {len(have)}/{len(names)} stages"
            + (f"; trained by you: {', '.join(trained)}" if trained else "")
            + (f"; missing: {', '.join(missing)} (training any stage copies them from the shipped set)" if missing else "")
            + ".")  # fmt: skip


def _copy_atomic(src: Path, dst: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def complete_user_set(task: str, dataset: str, except_stage: str) -> list[str]:
    """Copy the shipped stages the user's set lacks (other than ``except_stage``) into it."""
    src, dst = shipped_dir(task, dataset), user_dir(task, dataset)
    if dst.resolve() == src.resolve():
        raise BadInput("the user checkpoint folder is the shipped one; set REGENLAB_HOME elsewhere")
    dst.mkdir(parents=True, exist_ok=True)
    copied = []
    for s in stages(task):
        if s == except_stage or (dst / f"{s}.safetensors").exists():
            continue
        if not (src / f"{s}.safetensors").exists():
            continue  # nothing to copy; the stage may be trained later
        _copy_atomic(src / f"{s}.safetensors", dst / f"{s}.safetensors")
        import json

        rec = zoo.read_record(src / s)
        rec.setdefault("meta", {})["copied_from_shipped"] = str(src / s)
        zoo.atomic_write_bytes((dst / s).with_suffix(".json"), json.dumps(rec, indent=1).encode())
        copied.append(s)
    return copied


def loss_figure(curve: list[tuple[int, float]], title: str):
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Scatter(x=[c[0] for c in curve], y=[c[1] for c in curve], mode="lines", name="loss")
    )
    fig.update_layout(title=title, xaxis_title="step", yaxis_title="training loss", height=320,
                      margin=dict(l=10, r=10, t=40, b=10))  # fmt: skip
    return fig


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "local"


def train(task: str, dataset: str, stage: str, preset: str, resume: bool = False,
          progress: gr.Progress = gr.Progress(track_tqdm=True), request: gr.Request = None):  # noqa: B008  # fmt: skip
    """Train ``stage`` from scratch into the user's set, yielding (loss plot, status) as it goes."""
    try:
        task, dataset, _ = handlers.check_choice(task, dataset, "user")
        spec = trainer(task)
        if stage not in spec.stages:
            raise BadInput(f"unknown stage {stage!r}; choose one of {', '.join(spec.stages)}")
        if preset not in PRESETS_OFFERED or preset not in spec.presets:
            raise BadInput(f"preset must be one of {', '.join(PRESETS_OFFERED)}, got {preset!r}")
        copied = complete_user_set(task, dataset, stage)
    except (BadInput, ValueError, FileNotFoundError) as err:
        raise gr.Error(str(err)) from err
    out = user_dir(task, dataset)
    if not resume:
        (out / f"{stage}.resume.pt").unlink(missing_ok=True)  # from scratch
    stop = threading.Event()
    sid = _session(request)
    with _STOPS_LOCK:
        if sid in _STOPS:
            _STOPS[sid].set()
        _STOPS[sid] = stop
    curve: list[tuple[int, float]] = []
    state: dict[str, Any] = {"step": 0, "total": 1, "error": None, "record": None}

    def on_step(step: int, total: int, loss: float) -> None:
        state["step"], state["total"] = step, total
        curve.append((step, loss))

    def run() -> None:
        try:
            dev = default_device()
            state["record"] = spec.train_stage(
                dataset, stage, preset, out, on_step=on_step, should_stop=stop.is_set, device=dev
            )
        except BaseException as err:  # reported to the user below
            state["error"] = err

    th = threading.Thread(target=run, name=f"train-{task}-{dataset}-{stage}", daemon=True)
    t0 = time.perf_counter()
    th.start()
    note = f" (copied from shipped first: {', '.join(copied)})" if copied else ""
    title = f"{task}/{dataset}/{stage}, preset {preset}"
    try:
        while th.is_alive():
            th.join(0.5)
            s, total = state["step"], state["total"]
            progress((s, total), desc=f"training {stage}", unit="steps")
            yield (
                loss_figure(curve, title),
                f"Training `{stage}`: step {s}/{total}, {time.perf_counter() - t0:.0f} s{note}.",
            )
    finally:
        stop.set()  # the page closed or the event was cancelled: stop the thread too
        with _STOPS_LOCK:
            if _STOPS.get(sid) is stop:
                del _STOPS[sid]
    err = state["error"]
    if err is not None:
        if type(err).__name__ == "Stopped":
            msg = (f"Cancelled `{stage}` at step {state['step']}. Nothing was saved over your checkpoints; "
                   "a resume file was kept (tick 'resume' to continue).")  # fmt: skip
            yield (
                loss_figure(curve, title + " (cancelled)"),
                msg + "\n\n" + set_status(task, dataset),
            )
            return
        raise gr.Error(f"training {stage} failed: {err}")
    handlers.forget_tasks(task, dataset, "user")
    rec = state["record"] or {}
    msg = (f"Saved `{stage}` ({rec.get('steps_done', '?')} steps, {rec.get('seconds', 0):.0f} s) to your own set `{out}`{note}. "
           "Choose **your own** checkpoints in step 1 to use it.")  # fmt: skip
    msg += (
        " Stages trained on this one's output (a prior over its Y') must be retrained to match it."
    )
    yield loss_figure(curve, title), msg + "\n\n" + set_status(task, dataset)


def cancel(request: gr.Request = None) -> str:
    """Ask this session's running training to stop after its current step."""
    with _STOPS_LOCK:
        ev = _STOPS.get(_session(request))
    if ev is None:
        return "No training is running in this session."
    ev.set()
    return "Stopping after the current step..."


def status(task: str, dataset: str) -> str:
    try:
        task, dataset, _ = handlers.check_choice(task, dataset, "user")
    except BadInput as err:
        raise gr.Error(str(err)) from err
    return set_status(task, dataset)
