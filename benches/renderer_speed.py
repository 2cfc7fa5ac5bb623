"""The speech renderers side by side: the shipped vocoder vs Griffin-Lim (32 iterations), same clips.

    python benches/renderer_speed.py [--reps 7] [--threads 2]

For held-out test utterances (about 1.4 s each) and for 2 s and 10 s of eSpeak speech, it times
rendering a waveform from the true log-mel, one clip at a time, and prints the median of
``--reps`` timed calls (after one warm-up) as milliseconds and real-time factor (seconds of CPU
per second of audio), with the ratio Griffin-Lim / vocoder (above 5: issue 4's "5x faster").
"""

from __future__ import annotations

import argparse

import torch
from audio_features import median_ms, speech  # the same clips and timing (same folder)

from regenlab import get_task
from regenlab.data.espeak import SAMPLE_RATE


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    task = get_task("tts", device=torch.device("cpu"))
    mel = task.conversions["mel"]
    rend = task.renderers("mel")
    x, ys = task.examples("test", n=20, seed=0)
    clips = {"20 test utterances": [y[: int((y != 0).nonzero().max()) + 1] for y in ys]}
    clips |= {f"{s} s of speech": [torch.from_numpy(speech(s))] for s in (2, 10)}
    print(f"shipped vocoder vs Griffin-Lim-32, median of {args.reps}, {args.threads} thread(s)")
    print(
        f"{'clips':20s} {'audio s':>8s} {'vocoder ms':>11s} {'GL-32 ms':>9s} {'RTF voc':>8s} {'RTF GL':>7s} {'GL/voc':>7s}"
    )
    for name, waves in clips.items():
        mels = [mel.encode(w) for w in waves]
        audio_s = sum(len(w) for w in waves) / SAMPLE_RATE

        def run(r, mels=mels):
            for i, m in enumerate(mels):
                r.sample(m, seed=i)

        tv = median_ms(lambda: run(rend["vocoder"]), args.reps) / 1000  # seconds
        tg = median_ms(lambda: run(rend["griffin_lim"]), args.reps) / 1000
        print(f"{name:20s} {audio_s:8.1f} {1000 * tv:11.1f} {1000 * tg:9.1f} {tv / audio_s:8.4f} "
              f"{tg / audio_s:7.4f} {tg / tv:7.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
