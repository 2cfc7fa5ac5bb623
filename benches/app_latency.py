"""Latency of the app's endpoints: through gradio_client vs the same handler called directly.

    python benches/app_latency.py [--reps 15] [--task image] [--data shapes] [--download]

For every data set and conversion of the task it times Inspect (a dataset example, an uploaded
image), Sample (a fresh seed every call, so the prior really samples) and Render (right after a
Sample with the same settings, as in the walkthrough) and prints p50 / p95 in ms for the direct
call and for the endpoint, side by side with their ratio. The server runs in this process on a
free port, with the app's own launch options; the client does not download output files unless
``--download`` (a browser fetches them lazily too).

Targets (issue): Inspect and Sample/Render p95 <= 300 ms, endpoint/direct <= 2 at p50.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(ts: list[float]) -> tuple[float, float]:
    a = np.asarray(ts) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=15, help="timed calls per row (after 2 warm-ups)")
    ap.add_argument("--task", default="image")
    ap.add_argument("--data", action="append", help="data set(s) (default: all of the task's)")
    ap.add_argument("--download", action="store_true", help="let the client download output files")
    args = ap.parse_args()

    from gradio_client import Client, handle_file
    from PIL import Image

    from app import handlers
    from app.server import serve
    from regenlab.core import task_spec

    _, url, _ = serve(port=free_port(), prevent_thread_lock=True, quiet=True)
    client = Client(
        url,
        analytics_enabled=False,
        verbose=False,
        download_files=tempfile.mkdtemp() if args.download else False,
    )
    png = Path(tempfile.mkdtemp()) / "upload.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(
        png
    )

    rows = []
    datasets = args.data or list(task_spec(args.task).datasets)
    seed_counter = iter(range(1, 10**9))
    for ds in datasets:
        info = handlers.choose(args.task, ds, "shipped", None)
        for conv in info["conversions"]:
            common = [args.task, ds, "shipped", conv]
            x = [
                info["classes"][0] if info["x_kind"] == "class" else None,
                "a test sentence" if info["x_kind"] == "text" else "",
                None,
            ]
            rend = handlers.choose(args.task, ds, "shipped", conv)["renderers"][0]
            up = handle_file(str(png)) if info["y_kind"] == "image" else None
            cases = {
                "inspect_example": (lambda i, common=common: ([*common, i % handlers.EXAMPLE_POOL], None)),
                "inspect_upload": (lambda i, common=common, up=up: ([*common, up, None, ""], None)),
                "sample": (lambda i, common=common, x=x: ([*common, *x, 4, 1.0, next(seed_counter)], None)),
                "render": (lambda i, common=common, x=x, rend=rend: (lambda s: ([*common, *x, 4, 1.0, s, rend], ("sample", [*common, *x, 4, 1.0, s])))(next(seed_counter))),
            }  # fmt: skip
            for name, make in cases.items():
                fn = getattr(handlers, name)
                times = {"direct": [], "api": []}
                for mode in ("direct", "api"):
                    for i in range(args.reps + 2):
                        call_args, before = make(i)
                        if mode == "direct":
                            call_args = [
                                str(png) if a is up and up is not None else a for a in call_args
                            ]
                            if before:
                                getattr(handlers, before[0])(*before[1])
                            t0 = time.perf_counter()
                            fn(*call_args)
                        else:
                            if before:
                                client.predict(*before[1], api_name=f"/{before[0]}")
                            t0 = time.perf_counter()
                            client.predict(*call_args, api_name=f"/{name}")
                        if i >= 2:
                            times[mode].append(time.perf_counter() - t0)
                d50, d95 = pct(times["direct"])
                a50, a95 = pct(times["api"])
                rows.append((f"{ds}/{conv}", name, d50, d95, a50, a95, a50 / d50))
                print(
                    f"  {ds}/{conv:10s} {name:16s} direct p50 {d50:6.1f} p95 {d95:6.1f} | api p50 {a50:6.1f} p95 {a95:6.1f} | ratio {a50 / d50:4.2f}",
                    file=sys.stderr,
                    flush=True,
                )

    floor = []
    for i in range(args.reps + 2):
        t0 = time.perf_counter()
        client.predict(api_name="/goto_step1")  # a no-op navigation event: Gradio's own round trip
        if i >= 2:
            floor.append(time.perf_counter() - t0)
    f50, f95 = pct(floor)

    print(
        f"\napp latency, {args.reps} calls per row, ms (task {args.task}; {os.cpu_count()} CPUs; torch threads per request: {os.environ.get('REGENLAB_APP_THREADS', '1')})"
    )
    head = f"{'data/conversion':22s} {'endpoint':16s} {'direct p50':>10s} {'direct p95':>10s} {'api p50':>8s} {'api p95':>8s} {'api/direct p50':>14s}  targets"
    print(head)
    print("-" * len(head))
    ok_all = True
    for where, name, d50, d95, a50, a95, ratio in rows:
        ok = a95 <= 300 and ratio <= 2
        ok_all &= ok
        print(
            f"{where:22s} {name:16s} {d50:10.1f} {d95:10.1f} {a50:8.1f} {a95:8.1f} {ratio:14.2f}  {'ok' if ok else 'MISSED'}"
        )
    print(
        f"{'(no-op event)':22s} {'goto_step1':16s} {'':>10s} {'':>10s} {f50:8.1f} {f95:8.1f}  <- gradio_client + server round trip floor"
    )
    print(f"\nall rows within p95 <= 300 ms and ratio <= 2: {'yes' if ok_all else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
