"""How the speech-synthesis stages are built and trained, with the ``full`` and ``lab`` presets.

Stages, in the order they train:

    vocoder   renderer P(Y | mel): self-supervised on audio alone (Y' = mel(Y) is computed)
    prior     P(mel | phonemes, voice, pitch, rate): FastSpeech-style, eSpeak durations
    direct    baseline text -> waveform, about the parameters of vocoder + prior and their
              measured training wall-clock
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from regenlab.conversions.audio import LOG_FLOOR, LogMel, STFTConfig
from regenlab.data.speech import PITCHES, RATES, VOICES, SpeechData, load_speech
from regenlab.models.audio import DirectTTS, PhonemeToMel, Vocoder
from regenlab.train import FitConfig, fit, matched_budget, n_params

STAGES = ("vocoder", "prior", "direct")
DATASETS = ("espeak",)
STFT = STFTConfig()

ARCH: dict[str, dict[str, Any]] = {
    # log|X| predicted around the mel's pseudo-inverse (sample_rate set): measured after 150 s of
    # training, log-mel L1 0.19 against 0.45 when predicted from scratch; phase predicted outright
    # (predicting its frame-to-frame advance instead gave 0.50)
    "vocoder": dict(dim=128, hidden=384, layers=6, phase="direct", sample_rate=STFT.sample_rate),
    "prior": dict(dim=192, enc_layers=4, dec_layers=6, dropout=0.1),
    "direct": dict(enc_layers=4, dec_layers=10, dropout=0.1),  # width matched to the params
}
VOCODER_FRAMES = 48  # frames per training crop (0.56 s)


def _fc(steps: int, **kw: Any) -> FitConfig:
    return FitConfig(steps=steps, **kw)


PRESETS: dict[str, dict[str, Any]] = {
    "full": dict(
        train_size=2000,
        vocoder=_fc(100_000, batch_size=16, lr=1e-3, max_seconds=15 * 60),
        prior=_fc(100_000, batch_size=16, lr=1e-3, max_seconds=10 * 60),
        direct=_fc(100_000, batch_size=16, lr=1e-3),
    ),
    "lab": dict(
        train_size=600,
        vocoder=_fc(100_000, batch_size=16, lr=1e-3, max_seconds=150),
        prior=_fc(100_000, batch_size=16, lr=1e-3, max_seconds=100),
        direct=_fc(100_000, batch_size=16, lr=1e-3),
    ),
    "smoke": dict(
        train_size=64,
        vocoder=_fc(3, batch_size=2, warmup=1),
        prior=_fc(3, batch_size=2, warmup=1),
        direct=_fc(3, batch_size=2, warmup=1),
    ),
}


def pitch_rate(pitch: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
    """eSpeak pitch (0-99) and rate (words a minute) -> (B, 2), about [-1, 1] over the corpus."""
    p = (pitch.float() - sum(PITCHES) / 2) / ((PITCHES[1] - PITCHES[0]) / 2)
    r = (rate.float() - sum(RATES) / 2) / ((RATES[1] - RATES[0]) / 2)
    return torch.stack([p, r], -1)


def durations_of(starts: torch.Tensor, n_samples: int, hop: int = STFT.hop) -> torch.Tensor:
    """Phoneme start samples (P,) -> frames per phoneme (P,), summing to the mel's T frames.

    Phoneme i owns frames [round(start_i / hop), round(start_{i+1} / hop)); the first starts at
    frame 0 and the last ends at T = n_samples // hop + 1.
    """
    t = n_samples // hop + 1
    b = (starts.double() / hop).round().long().clamp(0, t)
    b[0] = 0
    b = torch.cat([b, torch.tensor([t])]).cummax(0).values
    return b[1:] - b[:-1]


@dataclasses.dataclass
class Prepared:
    """A split with padded tensors: phonemes, durations (N, P), mels (N, M, T), waves (N, S)."""

    data: SpeechData
    phonemes: torch.Tensor
    durations: torch.Tensor
    mels: torch.Tensor
    waves: torch.Tensor
    frames: torch.Tensor  # (N,) true T
    cond: torch.Tensor  # (N, 2) pitch and rate, scaled


@lru_cache(maxsize=4)
def prepare(split: str, size: int | None = None) -> Prepared:
    data = load_speech(split, size=size)
    mel = LogMel(STFT)
    n = len(data)
    waves = [data.wave(i) for i in range(n)]
    s_max = max(len(w) for w in waves)
    wav = torch.zeros(n, s_max)
    for i, w in enumerate(waves):
        wav[i, : len(w)] = w
    frames = torch.tensor([STFT.frames(len(w)) for w in waves])
    mels = torch.full((n, STFT.n_mels, int(frames.max())), LOG_FLOOR).log()
    for i, w in enumerate(waves):
        mels[i, :, : frames[i]] = mel.encode(w)[0]
    ph = [data.phones(i) for i in range(n)]
    p_max = max(len(p) for p, _ in ph)
    phonemes = torch.zeros(n, p_max, dtype=torch.long)
    durs = torch.zeros(n, p_max, dtype=torch.long)
    for i, (p, s) in enumerate(ph):
        phonemes[i, : len(p)] = p
        durs[i, : len(p)] = durations_of(s, len(waves[i]))
    return Prepared(data, phonemes, durs, mels, wav, frames, pitch_rate(data.pitches, data.rates))


def mel_fn() -> Callable[[torch.Tensor], torch.Tensor]:
    """Differentiable waveform (B, S) -> log-mel (B, M, T), the same analysis as the conversion."""
    conv = LogMel(STFT)
    spec, scale = conv.spec, conv.mel_scale
    return lambda y: scale.to(y.device)(spec.to(y.device)(y)).clamp_min(LOG_FLOOR).log()


# ---------------------------------------------------------------------------------- modules


def vocab_size() -> int:
    return len(load_speech("train").vocab)


def build(stage: str, target_params: int = 0) -> nn.Module:
    if stage == "vocoder":
        m = Vocoder(STFT.n_mels, n_fft=STFT.n_fft, hop=STFT.hop, **ARCH["vocoder"])
    elif stage == "prior":
        m = PhonemeToMel(vocab_size(), len(VOICES), STFT.n_mels, **ARCH["prior"])
    elif stage == "direct":
        dim = min(range(64, 385, 16), key=lambda d: abs(n_params(_direct(d)) - target_params))
        m = _direct(dim)
    else:
        raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
    if hasattr(m, "mel_fn"):
        m.mel_fn = mel_fn()
    return m


def _direct(dim: int) -> DirectTTS:
    return DirectTTS(vocab_size(), len(VOICES), dim=dim, n_fft=STFT.n_fft, hop=STFT.hop,
                     **ARCH["direct"])  # fmt: skip


# ---------------------------------------------------------------------------------- batches


def _crop_batch(p: Prepared, idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The longest padded frame count in the batch, cropped: phonemes, durations, ... (B, ...)."""
    t = int(p.frames[idx].max())
    pl = int((p.phonemes[idx] > 0).sum(1).max())
    return (
        p.phonemes[idx, :pl],
        p.durations[idx, :pl],
        p.data.voices[idx],
        p.cond[idx],
        t,
    )


def batch_source(stage: str, preset: str) -> Callable[[torch.Generator, int], tuple]:
    p = prepare("train", PRESETS[preset]["train_size"])
    n, hop = len(p.frames), STFT.hop
    mel = mel_fn()

    if stage == "vocoder":
        crop = (VOCODER_FRAMES - 1) * hop  # samples; mel(crop) has VOCODER_FRAMES frames

        def draw(g: torch.Generator, b: int) -> tuple:
            i = torch.randint(0, n, (b,), generator=g)
            lens = p.data.offsets[i + 1] - p.data.offsets[i]
            start = (torch.rand(b, generator=g) * (lens - crop).clamp_min(0)).long()
            w = torch.stack([F.pad(p.waves[j, s : s + crop], (0, crop - len(p.waves[j, s : s + crop])))
                             for j, s in zip(i.tolist(), start.tolist(), strict=True)])  # fmt: skip
            with torch.no_grad():
                m = mel(w)  # (B, M, VOCODER_FRAMES)
            return m, w

        return draw

    def draw_text(g: torch.Generator, b: int) -> tuple:
        i = torch.randint(0, n, (b,), generator=g)
        ph, dur, voice, cond, t = _crop_batch(p, i)
        if stage == "prior":
            return ph, dur, voice, cond, p.mels[i, :, :t]
        return ph, dur, voice, cond, p.waves[i, : (t - 1) * hop]

    if stage in ("prior", "direct"):
        return draw_text
    raise ValueError(f"unknown stage {stage!r}")


# --------------------------------------------------------------------------------- training


def fit_config(preset: str, stage: str) -> FitConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[preset][stage]


def train_stage(
    dataset: str,
    stage: str,
    preset: str,
    ckpt_dir: Path,
    *,
    on_step: Callable[[int, int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Train one stage from scratch (or resume it) and save it under ``ckpt_dir``."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown data set {dataset!r}; choose one of {', '.join(DATASETS)}")
    ckpt_dir = Path(ckpt_dir)
    cfg = fit_config(preset, stage)
    target, extra = 0, {"dataset": dataset, "preset": preset,
                        "vocab": list(load_speech("train").vocab)}  # fmt: skip
    if stage == "direct":  # about the parameters and the wall-clock of vocoder + prior
        target, cfg = matched_budget(ckpt_dir, ("vocoder", "prior"), cfg)
        extra["matched_params"] = target
    model = build(stage, target).to(device)
    draw = batch_source(stage, preset)
    return fit(model, draw, cfg, ckpt_dir / stage, name=f"tts/{stage}", on_step=on_step,
               should_stop=should_stop, extra_meta=extra)  # fmt: skip
