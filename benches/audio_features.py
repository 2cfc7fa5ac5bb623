"""Mel spectrogram and Griffin-Lim: the lab's functions vs librosa's, on real eSpeak speech.

    python benches/audio_features.py [--reps 7] [--threads 1]

needs librosa (``pip install -e '.[bench]'``). For a 2 s and a 10 s clip (eSpeak NG speech,
utterances concatenated and cut to length) it times

    mel          regenlab LogMel.encode  vs  librosa.feature.melspectrogram + the same log
    griffin_lim  regenlab.models.audio.griffin_lim  vs  librosa.griffinlim (from the same |STFT|)

with the lab's parameters on both sides: 22,050 Hz, n_fft 1024, hop 256, Hann window, centred with
reflect padding, 80 slaney mels (slaney norm), magnitude (power 1), log floor 1e-5; Griffin-Lim 32
iterations, momentum 0.99, random initial phase. It prints the median of ``--reps`` timed calls
(after one warm-up) side by side with the ratio librosa / lab (above 1: the lab is faster), then
sanity lines: the largest difference between the two log-mels, and how well each Griffin-Lim
output's magnitudes match the target (spectral convergence; the random phases differ, so the
waveforms themselves cannot agree). Both sides run with ``--threads`` threads (torch and BLAS).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from regenlab.conversions.audio import LOG_FLOOR, LogMel
from regenlab.data.espeak import SAMPLE_RATE, synthesize
from regenlab.models.audio import griffin_lim
from regenlab.tasks.tts_train import STFT

SECONDS = (2, 10)
SENTENCES = (
    ("en-us", "Regeneration learning converts the target into a compact intermediate form."),
    ("en-us+f3", "A prior predicts that form from the text, and a renderer regenerates the sound."),
    ("en+m3", "The mel spectrogram keeps what is said and drops the phase."),
)


def speech(seconds: float) -> np.ndarray:
    """``seconds`` of eSpeak speech (float32), the sentences in turn, repeated as needed."""
    parts = [synthesize(text, voice).audio for voice, text in SENTENCES]
    n = int(seconds * SAMPLE_RATE)
    reps = -(-n // sum(len(p) for p in parts))
    return np.concatenate(parts * reps)[:n]


def median_ms(fn, reps: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def spectral_convergence(target: np.ndarray, wave: np.ndarray, mel: LogMel) -> float:
    """||S - |STFT(wave)||| / ||S|| over the frames both have: 0 when the magnitudes match."""
    got = mel.magnitude(torch.from_numpy(wave))[0].numpy()
    t = min(got.shape[-1], target.shape[-1])
    return float(np.linalg.norm(target[:, :t] - got[:, :t]) / np.linalg.norm(target[:, :t]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--reps", type=int, default=7, help="timed calls per row (median; after 1 warm-up)"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch and BLAS threads for both sides")
    args = ap.parse_args()
    try:
        import librosa
    except ImportError:
        print(
            "benches/audio_features.py compares against librosa, which is not installed:\n"
            "    pip install -e '.[bench]'   (or: pip install librosa)",
            file=sys.stderr,
        )
        return 1

    torch.set_num_threads(args.threads)
    conv = LogMel(STFT)
    mel_kw = dict(sr=STFT.sample_rate, n_fft=STFT.n_fft, hop_length=STFT.hop, n_mels=STFT.n_mels,
                  fmin=STFT.f_min, fmax=STFT.f_max, htk=False, norm="slaney", power=1.0,
                  center=True, pad_mode="reflect")  # fmt: skip
    gl_kw = dict(n_iter=32, hop_length=STFT.hop, n_fft=STFT.n_fft, momentum=0.99, init="random",
                 center=True, pad_mode="reflect")  # fmt: skip

    def librosa_logmel(y: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(librosa.feature.melspectrogram(y=y, **mel_kw), LOG_FLOOR))

    def cases(y: np.ndarray) -> tuple[dict, dict, np.ndarray]:
        """The lab's and librosa's calls on one clip y (S,), and its |STFT| (513, T)."""
        yt = torch.from_numpy(y)[None]  # (1, S)
        mag = conv.magnitude(yt)  # (1, 513, T)
        ours = {
            "mel": lambda: conv.encode(yt)[0].numpy(),
            "griffin_lim": lambda: griffin_lim(
                mag, STFT.n_fft, STFT.hop, n_iter=32, momentum=0.99, length=len(y),
                generator=torch.Generator().manual_seed(0),
            )[0].numpy(),
        }  # fmt: skip
        theirs = {
            "mel": lambda: librosa_logmel(y),
            "griffin_lim": lambda: librosa.griffinlim(
                mag[0].numpy(), length=len(y), random_state=0, **gl_kw
            ),
        }
        return ours, theirs, mag[0].numpy()

    rows, sanity = [], []
    with threadpool_limits(args.threads):
        for seconds in SECONDS:
            y = speech(seconds)
            ours, theirs, mag = cases(y)
            for name in ours:
                lab_ms = median_ms(ours[name], args.reps)
                ref_ms = median_ms(theirs[name], args.reps)
                rows.append((name, seconds, lab_ms, ref_ms))
                print(f"  {name} {seconds} s: lab {lab_ms:.1f} ms, librosa {ref_ms:.1f} ms",
                      file=sys.stderr, flush=True)  # fmt: skip
            diff = np.abs(ours["mel"]() - theirs["mel"]())
            sc_lab = spectral_convergence(mag, ours["griffin_lim"](), conv)
            sc_ref = spectral_convergence(mag, theirs["griffin_lim"](), conv)
            sanity.append((seconds, float(diff.max()), float(diff.mean()), sc_lab, sc_ref))

    print(
        f"\nlab vs librosa {librosa.__version__}, median of {args.reps} calls, ms "
        f"(torch {torch.__version__}, {args.threads} thread(s))"
    )
    head = f"{'function':12s} {'clip':>5s} {'lab ms':>9s} {'librosa ms':>11s} {'librosa/lab':>12s}"
    print(head)
    print("-" * len(head))
    for name, seconds, lab_ms, ref_ms in rows:
        print(f"{name:12s} {seconds:4d}s {lab_ms:9.1f} {ref_ms:11.1f} {ref_ms / lab_ms:12.2f}")
    print("\nsanity")
    for seconds, dmax, dmean, sc_lab, sc_ref in sanity:
        print(
            f"  {seconds:2d} s clip: log-mel |lab - librosa| max {dmax:.2e}, mean {dmean:.2e}; "
            f"Griffin-Lim spectral convergence lab {sc_lab:.3f}, librosa {sc_ref:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
