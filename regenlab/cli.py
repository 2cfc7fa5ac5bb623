"""``regenlab train|eval|sample``: the lab from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from regenlab.core import get_task, task_spec
from regenlab.zoo import user_root


def _datasets(task: str, data: str | None) -> tuple[str, ...]:
    spec = task_spec(task)
    if data is None:
        return spec.datasets
    if data not in spec.datasets:
        raise ValueError(
            f"task {task!r} has no data set {data!r}; choose one of {', '.join(spec.datasets)}"
        )
    return (data,)


def cmd_train(args: argparse.Namespace) -> int:
    trainer = task_spec(args.task).trainer
    if trainer is None:
        raise ValueError(f"task {args.task!r} has no trainable stages")
    if args.preset not in trainer.presets:
        raise ValueError(
            f"unknown preset {args.preset!r}; choose one of {', '.join(trainer.presets)}"
        )
    stages = tuple(args.stage) if args.stage else trainer.stages
    for st in stages:
        if st not in trainer.stages:
            raise ValueError(f"unknown stage {st!r}; choose one of {', '.join(trainer.stages)}")
    root = Path(args.out) if args.out else user_root() / args.task
    t0 = time.perf_counter()
    for ds in _datasets(args.task, args.data):
        for st in stages:
            rec = trainer.train_stage(ds, st, args.preset, root / ds)
            last = ", ".join(f"{k} {v:.4g}" for k, v in rec["last"].items())
            print(
                f"{ds}/{st}: {rec['steps_done']} steps in {rec['seconds']:.0f} s ({rec['params']:,} params; {last})",
                flush=True,
            )
    print(f"trained into {root} in {time.perf_counter() - t0:.0f} s")
    return 0


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def _table(rows: dict[str, dict[str, Any]], cols: list[str]) -> str:
    head = ["", *cols]
    body = [[name, *(_fmt(r.get(c, "")) for c in cols)] for name, r in rows.items()]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]

    def line(xs):
        return "  ".join(
            str(x).rjust(w) if i else str(x).ljust(w)
            for i, (x, w) in enumerate(zip(xs, widths, strict=True))
        )

    return "\n".join([line(head), *(line(b) for b in body)])


CONV_COLS = [
    "kind",
    "psnr_db",
    "recon_consistency",
    "compression_ratio",
    "bits_ratio",
    "codebook_size",
    "perplexity",
    "perplexity_share",
    "codes_used",
    "prior_nll_train",
    "prior_nll_test",
]
GEN_COLS = [
    "class_consistency",
    "diversity",
    "diversity_real",
    "frechet_distance",
    "ms_per_image",
    "params",
    "train_seconds",
]


def markdown_tables(res: dict[str, Any]) -> str:
    """The evaluation of one data set as two markdown tables (for the README)."""

    return (
        f"**{res['dataset']}** (classifier test accuracy {res['classifier_test_accuracy']:.3f})\n\n"
        + _md(res["conversions"], CONV_COLS)
        + f"\n\n{res['n_per_class']} samples per class, seed {res['seed']}, temperature {res['temperature']}:\n\n"
        + _md(res["generation"], GEN_COLS)
    )


def generic_report(res: dict[str, Any], markdown: bool = False) -> str:
    """Any task's evaluation: every dict of rows as one table, the scalars as a header."""
    head = [f"{k}: {_fmt(v)}" for k, v in res.items() if not isinstance(v, dict)]
    out = ["; ".join(head)]
    groups = {k: v for k, v in res.items() if isinstance(v, dict)}
    singles = {k: v for k, v in groups.items() if not any(isinstance(x, dict) for x in v.values())}
    for name, rows in groups.items():
        if name in singles:
            continue
        rows = {k: v for k, v in rows.items() if isinstance(v, dict)}
        out += [f"\n{name}:", _table(rows, _columns(rows))]
    if singles:
        out += ["", _table(singles, _columns(singles))]
    if markdown:
        out.append("")
        for name, rows in groups.items():
            if name not in singles:
                rows = {k: v for k, v in rows.items() if isinstance(v, dict)}
                out += [f"**{name}**", "", _md(rows, _columns(rows)), ""]
        if singles:
            out += [_md(singles, _columns(singles))]
    return "\n".join(out)


def _columns(rows: dict[str, dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for r in rows.values():
        cols += [c for c in r if c not in cols]
    return cols


def _md(rows: dict[str, dict[str, Any]], cols: list[str]) -> str:
    lines = ["| | " + " | ".join(c.replace("_", " ") for c in cols) + " |",
             "|---" * (len(cols) + 1) + "|"]  # fmt: skip
    lines += ["| " + name + " | " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |"
              for name, r in rows.items()]  # fmt: skip
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    results = {}
    for ds in _datasets(args.task, args.data):
        task = get_task(args.task, ds, checkpoints=args.checkpoints)
        res = task.evaluate(
            n_per_class=args.n_per_class, seed=args.seed, temperature=args.temperature
        )
        results[ds] = res
        if args.task != "image":
            print(f"\n== {args.task} / {ds}  ({res.get('checkpoints', '')})")
            print(generic_report(res, args.markdown))
            continue
        print(
            f"\n== {args.task} / {ds}  (classifier test accuracy {res['classifier_test_accuracy']:.3f}; {res['checkpoints']})"
        )
        print("conversions Y -> Y' -> Y (test set):")
        print(_table(res["conversions"], CONV_COLS))
        print(
            f"generation ({res['n_per_class']} samples per class, seed {res['seed']}, temperature {res['temperature']}):"
        )
        print(_table(res["generation"], GEN_COLS))
        if args.markdown:
            print("\n" + markdown_tables(res))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
        print(f"\nwrote {args.json}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from regenlab.viz import to_hwc

    task = get_task(args.task, args.data, checkpoints=args.checkpoints)
    x = task.parse_x(args.x)
    if args.top_k < 0:
        raise ValueError(f"--top-k must be >= 0, got {args.top_k}")
    prior = getattr(task.pipelines.get(args.conversion), "prior", None)
    if args.top_k and hasattr(prior, "top_k"):  # only token priors truncate
        prior.top_k = args.top_k
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.conversion is None:
        args.conversion = next(iter(task.pipelines))
    if args.conversion == "direct":
        t0 = time.perf_counter()
        y = task.direct.sample(x, n=args.n, temperature=args.temperature, seed=args.seed)
        record: dict[str, Any] = {
            "pipeline": "direct",
            "x": x,
            "n": args.n,
            "temperature": args.temperature,
            "seed": args.seed,
            "seconds": {"direct": time.perf_counter() - t0},
        }
    else:
        if args.conversion not in task.pipelines:
            raise ValueError(
                f"unknown conversion {args.conversion!r}; choose one of {', '.join(task.pipelines)} or direct"
            )
        trace = task.pipelines[args.conversion].sample(
            x, n=args.n, temperature=args.temperature, seed=args.seed
        )
        y, record = trace.y, trace.summary()
    record |= {"task": args.task, "dataset": task.dataset}
    if task.x_kind == "class":
        record["classes"] = [task.classes[i] for i in x]
    files = []
    for i, yi in enumerate(y):
        if task.y_kind == "audio":
            import soundfile as sf

            path = out / f"sample_{i:03d}.wav"
            sf.write(str(path), yi.detach().float().cpu().numpy(), task.sample_rate)
        else:
            path = out / f"sample_{i:03d}.png"
            Image.fromarray(np.ascontiguousarray(to_hwc(yi))).save(path)
        files.append(path.name)
    record["files"] = files
    (out / "trace.json").write_text(json.dumps(record, indent=1, default=_jsonable))
    kind = "audio files" if task.y_kind == "audio" else "images"
    print(f"wrote {len(files)} {kind} and trace.json to {out}")
    return 0


def _jsonable(v: Any) -> Any:
    return v.as_dict() if hasattr(v, "as_dict") else str(v)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="regenlab", description="Regeneration learning lab: X -> Y' -> Y."
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser(
        "train", help="train a task's stages from scratch (resumes an interrupted run)"
    )
    t.add_argument("task")
    t.add_argument("--data", help="one data set (default: all of the task's)")
    t.add_argument(
        "--preset", default="full", help="full (the shipped checkpoints) or lab (<= 10 min)"
    )
    t.add_argument("--stage", action="append", help="train only this stage (repeatable)")
    t.add_argument(
        "--out", help="checkpoint root (default: the user folder, never the shipped one)"
    )
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("eval", help="measure conversions, pipelines and the direct baseline")
    e.add_argument("task")
    e.add_argument("--data")
    e.add_argument("--checkpoints", default="shipped", help="shipped, user, or a folder")
    e.add_argument("--n-per-class", type=int, default=50)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument(
        "--temperature", type=float, default=0.8, help="sampling temperature of every route"
    )
    e.add_argument("--json", help="also write the results to this JSON file")
    e.add_argument("--markdown", action="store_true", help="also print markdown tables")
    e.set_defaults(func=cmd_eval)
    s = sub.add_parser("sample", help="sample X -> Y' -> Y and write PNGs and the trace as JSON")
    s.add_argument("task")
    s.add_argument("--data")
    s.add_argument("--x", "--class", "--text", dest="x", required=True,
                   help="X: a class index or name (image), a text (tts)")  # fmt: skip
    s.add_argument("--conversion", default=None,
                   help="which Y' (image: vq, vae, downsample; tts: mel) or direct; default the first")  # fmt: skip
    s.add_argument("--n", type=int, default=8)
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--top-k", type=int, default=0, help="token priors: keep the k likeliest (0: all)"
    )
    s.add_argument("--checkpoints", default="shipped")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_sample)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"regenlab: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
