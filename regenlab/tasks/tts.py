"""The speech-synthesis task: text X -> waveform Y through Y' = log-mel spectrogram (paper, sec. 3).

    conversion   waveform -> log-mel by STFT (explicit); also linear spectrogram and MFCC
    prior        phonemes (+ voice, pitch, rate) -> mel, FastSpeech-style with sampled durations
    renderers    Griffin-Lim (32 iterations from a random phase) and a neural iSTFT vocoder
    direct       text -> waveform in one model of matched size and training time

X is a text, or a dict {"text", "voice", "pitch", "rate"}: the eSpeak settings left out are drawn
from the corpus' ranges when sampling (temperature > 0) and set to the middle at temperature 0.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from regenlab import metrics
from regenlab.conversions.audio import AUDIO_CONVERSIONS, LogMel
from regenlab.core import (
    Direct,
    Pipeline,
    Prior,
    Renderer,
    Task,
    TaskSpec,
    Trainer,
    check_finite,
    check_sampling_args,
    register_task,
)
from regenlab.data.espeak import SAMPLE_RATE, synthesize
from regenlab.data.speech import PITCHES, RATES, VOICES
from regenlab.device import default_device, generator
from regenlab.models.audio import DirectTTS, PhonemeToMel, Vocoder, griffin_lim
from regenlab.tasks.tts_train import (
    DATASETS,
    PRESETS,
    STAGES,
    STFT,
    pitch_rate,
    prepare,
    train_stage,
)
from regenlab.train import n_params
from regenlab.zoo import checkpoint_dir as zoo_checkpoint_dir
from regenlab.zoo import load_checkpoint, read_record

MAX_CHARS = 500
MAX_AUDIO_SECONDS = 20.0
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Utterance:
    """One X: the text and the eSpeak settings (None: drawn when sampling)."""

    text: str
    voice: str | None = None
    pitch: int | None = None
    rate: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "voice": self.voice, "pitch": self.pitch, "rate": self.rate}


def check_text(text: Any) -> str:
    """A clean text, or ValueError saying why it cannot be spoken."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    text = " ".join(text.split())
    if not text:
        raise ValueError("text is empty; type a word or a short sentence")
    if len(text) > MAX_CHARS:
        raise ValueError(f"text is too long ({len(text)} characters; at most {MAX_CHARS})")
    if not _LETTER.search(text):
        raise ValueError(f"text {text!r} has no pronounceable characters (no letters)")
    return text


def parse_utterance(x: Any) -> Utterance:
    if isinstance(x, Utterance):
        x = x.as_dict()
    if isinstance(x, str):
        return Utterance(check_text(x))
    if not isinstance(x, dict):
        raise ValueError(f"X must be a text or a dict with 'text', got {type(x).__name__}")
    voice, pitch, rate = x.get("voice"), x.get("pitch"), x.get("rate")
    if voice is not None and voice not in VOICES:
        raise ValueError(f"unknown voice {voice!r}; choose one of {', '.join(VOICES)}")
    for name, v, (lo, hi) in (("pitch", pitch, PITCHES), ("rate", rate, RATES)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                              or not lo <= v <= hi):  # fmt: skip
            raise ValueError(f"{name} must be a number from {lo} to {hi}, got {v!r}")
    return Utterance(check_text(x.get("text")), voice,
                     None if pitch is None else int(pitch), None if rate is None else int(rate))  # fmt: skip


def pad_stack(xs: Sequence[torch.Tensor], value: float = 0.0) -> torch.Tensor:
    """Tensors (..., L_i) -> (B, ..., max L), padded at the end with ``value``."""
    n = max(x.shape[-1] for x in xs)
    out = torch.full((len(xs), *xs[0].shape[:-1], n), value, dtype=xs[0].dtype)
    for i, x in enumerate(xs):
        out[i, ..., : x.shape[-1]] = x
    return out


class Phonemizer:
    """Text -> phoneme ids with eSpeak (the same phoneme set the prior was trained on)."""

    def __init__(self, vocab: Sequence[str]):
        self.vocab = tuple(vocab)
        self.index = {p: i for i, p in enumerate(self.vocab)}

    def __call__(self, text: str, voice: str) -> torch.Tensor:
        phones = synthesize(text, voice).phonemes
        if not phones:
            raise ValueError(f"eSpeak found nothing to pronounce in {text!r}")
        return torch.tensor([self.index.get(p, 1) for p in phones])  # 1 = <unk>


def _draw_settings(u: Utterance, temperature: float, g: torch.Generator) -> tuple[int, int, int]:
    """(voice index, pitch, rate) for one sample: the given ones, else drawn (T > 0) or middle."""

    def pick(lo: int, hi: int) -> int:
        if temperature == 0:
            return (lo + hi) // 2
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    voice = VOICES.index(u.voice) if u.voice else (
        0 if temperature == 0 else int(torch.randint(len(VOICES), (1,), generator=g)))  # fmt: skip
    pitch = u.pitch if u.pitch is not None else pick(*PITCHES)
    rate = u.rate if u.rate is not None else pick(*RATES)
    return voice, pitch, rate


class _TextModel:
    """Shared by the prior and the direct model: X -> padded phonemes and conditions, n each."""

    def __init__(self, phonemize: Phonemizer, device: torch.device):
        self.phonemize, self.device = phonemize, device

    def inputs(self, x, n: int, temperature: float, g: torch.Generator):
        utts = [parse_utterance(u) for u in x]
        rows = []
        for u in utts:
            for _ in range(n):
                v, p, r = _draw_settings(u, temperature, g)
                rows.append((self.phonemize(u.text, VOICES[v]), v, p, r))
        ph = pad_stack([r[0] for r in rows]).to(self.device)  # (B * n, P)
        voice = torch.tensor([r[1] for r in rows], device=self.device)
        cond = pitch_rate(torch.tensor([r[2] for r in rows]), torch.tensor([r[3] for r in rows]))
        return ph, voice, cond.to(self.device), rows


class MelPrior(Prior):
    """P(mel | X): phonemes -> durations ~ log-normal -> frames -> mel; (B * n, 80, T) padded."""

    name = "phoneme-to-mel"

    def __init__(self, model: PhonemeToMel, phonemize: Phonemizer, device: torch.device):
        self.model, self.text = model, _TextModel(phonemize, device)
        self.last_settings: list[dict[str, Any]] = []

    def sample(self, x, n=1, temperature=1.0, seed=None):
        check_sampling_args(n, temperature)
        g = generator(seed)
        ph, voice, cond, rows = self.text.inputs(x, n, temperature, g)
        mel, _ = self.model.infer(ph, voice, cond, temperature, generator=g)
        self.last_settings = [{"voice": VOICES[r[1]], "pitch": r[2], "rate": r[3]} for r in rows]
        return mel.cpu()


class VocoderRenderer(Renderer):
    """Y = vocoder(mel): one waveform per mel (deterministic), (B * n, (T - 1) * hop)."""

    name = "vocoder"

    def __init__(self, model: Vocoder, device: torch.device):
        self.model, self.device = model, device

    @torch.inference_mode()
    def sample(self, y_prime, n=1, seed=None):
        check_finite(y_prime, "mel spectrogram")
        y = self.model(y_prime.to(self.device)).clamp(-1, 1).cpu()
        return y.repeat_interleave(n, 0)


class GriffinLimRenderer(Renderer):
    """Y = Griffin-Lim(|X| from Y'), 32 iterations from a random phase: it samples."""

    name = "griffin_lim"

    def __init__(self, conversion, n_iter: int = 32):
        self.conversion, self.n_iter = conversion, n_iter

    @torch.no_grad()
    def sample(self, y_prime, n=1, seed=None):
        check_finite(y_prime, "spectrogram")
        g = generator(seed)
        mag = self.conversion.to_magnitude(y_prime.cpu()).repeat_interleave(n, 0)
        length = STFT.samples(y_prime.shape[-1])
        y = griffin_lim(mag, STFT.n_fft, STFT.hop, self.n_iter, length=length, generator=g)
        return y.clamp(-1, 1)


class DirectSpeech(Direct):
    """Text -> waveform in one model; (B * n, S) padded."""

    name = "direct"

    def __init__(self, model: DirectTTS, phonemize: Phonemizer, device: torch.device):
        self.model, self.text = model, _TextModel(phonemize, device)

    def sample(self, x, n=1, temperature=1.0, seed=None):
        check_sampling_args(n, temperature)
        g = generator(seed)
        ph, voice, cond, _ = self.text.inputs(x, n, temperature, g)
        y, _ = self.model.infer(ph, voice, cond, temperature, generator=g)
        return y.clamp(-1, 1).cpu()


def checkpoint_dir(source: str | Path, dataset: str = "espeak") -> Path:
    return zoo_checkpoint_dir("tts", source, dataset)


class TTSTask(Task):
    """text -> speech on an eSpeak NG corpus (4 voices, varied pitch and rate)."""

    name = "tts"
    x_kind = "text"
    y_kind = "audio"
    classes = ()
    voices = VOICES
    sample_rate = SAMPLE_RATE

    def __init__(self, dataset: str = "espeak", checkpoints: str | Path = "shipped",
                 device: torch.device | None = None):  # fmt: skip
        self.dataset = dataset
        self.device = device or default_device()
        self.y_shape = (SAMPLE_RATE,)  # nominal: one second (lengths vary)
        self.ckpt_dir = checkpoint_dir(checkpoints, dataset)
        missing = [s for s in STAGES if not (self.ckpt_dir / f"{s}.safetensors").exists()]
        if missing:
            raise FileNotFoundError(
                f"checkpoints missing in {self.ckpt_dir}: {', '.join(missing)}; "
                "train them with `regenlab train tts`"
            )
        load = lambda s: load_checkpoint(self.ckpt_dir / s, self.device)  # noqa: E731
        self.phonemize = Phonemizer(read_record(self.ckpt_dir / "prior")["meta"]["vocab"])
        self.conversions = {k: c(STFT) for k, c in AUDIO_CONVERSIONS.items()}
        mel: LogMel = self.conversions["mel"]
        self.vocoder = load("vocoder")
        self.vocoder_renderer = VocoderRenderer(self.vocoder, self.device)
        self.prior_model: PhonemeToMel = load("prior")
        self.pipelines = {
            "mel": Pipeline("mel", mel, MelPrior(self.prior_model, self.phonemize, self.device),
                            self.vocoder_renderer),
        }  # fmt: skip
        self.direct = DirectSpeech(load("direct"), self.phonemize, self.device)

    # ------------------------------------------------------------------------------ inputs

    def parse_x(self, x: Any) -> list[Any]:
        """Texts stay strings; a text with eSpeak settings becomes a (hashable) Utterance."""
        items = list(x) if isinstance(x, (list, tuple)) else [x]
        if not items:
            raise ValueError("no text given")
        out = []
        for u in map(parse_utterance, items):
            plain = u.voice is None and u.pitch is None and u.rate is None
            out.append(u.text if plain else u)
        return out

    def renderers(self, conversion: str = "mel") -> dict[str, Renderer]:
        """Renderers for a Y': the vocoder (mel only) and Griffin-Lim (any spectrogram)."""
        if conversion not in self.conversions:
            raise ValueError(
                f"unknown conversion {conversion!r}; choose one of {', '.join(self.conversions)}"
            )
        gl = GriffinLimRenderer(self.conversions[conversion])
        return (
            {"vocoder": self.vocoder_renderer, "griffin_lim": gl}
            if conversion == "mel"
            else {"griffin_lim": gl}
        )

    def check_y(self, y: Any) -> torch.Tensor:
        if isinstance(y, np.ndarray):
            y = torch.from_numpy(np.ascontiguousarray(y))
        if not torch.is_tensor(y):
            raise ValueError(f"audio must be a tensor or an array, got {type(y).__name__}")
        y = y.float()
        check_finite(y, "audio")
        if y.dim() == 2 and y.shape[0] == 1:
            y = y[0]
        if y.dim() != 1:
            raise ValueError(f"audio must be mono (S,), got shape {tuple(y.shape)}")
        if len(y) < STFT.n_fft:
            raise ValueError(f"audio is too short ({len(y)} samples; at least {STFT.n_fft})")
        if len(y) > MAX_AUDIO_SECONDS * SAMPLE_RATE:
            raise ValueError(
                f"audio is too long ({len(y) / SAMPLE_RATE:.1f} s; at most {MAX_AUDIO_SECONDS:.0f} s)"
            )
        peak = float(y.abs().max())
        return y / peak if peak > 1 else y

    def examples(self, split="test", n=8, seed=0):
        p = prepare(split)
        idx = torch.randperm(len(p.frames), generator=torch.Generator().manual_seed(seed))[:n]
        d = p.data
        x = [{"text": d.texts[i], "voice": VOICES[int(d.voices[i])], "pitch": int(d.pitches[i]),
              "rate": int(d.rates[i])} for i in idx.tolist()]  # fmt: skip
        return x, pad_stack([d.wave(i) for i in idx.tolist()])

    def visualize(self, conversion: str, y_prime: torch.Tensor, x: Any = None):
        """A heatmap of Y'; given the X it was spoken from, eSpeak's phoneme alignment on top."""
        from regenlab.viz import spectrogram

        if conversion not in self.conversions:
            raise ValueError(
                f"unknown conversion {conversion!r}; choose one of {', '.join(self.conversions)}"
            )
        return spectrogram(
            y_prime, conversion, STFT, self.alignment_of(x) if x is not None else None
        )

    def alignment_of(self, x: Any) -> list[tuple[str, int, int]]:
        """(phoneme, first frame, frames) of X spoken by eSpeak with its settings (middle ones
        where left out): the alignment the prior's durations are trained on."""
        from regenlab.tasks.tts_train import durations_of

        u = parse_utterance(x)
        v, p, r = _draw_settings(u, 0.0, torch.Generator())
        sp = synthesize(u.text, VOICES[v], r, p)
        d = durations_of(torch.tensor(sp.starts), len(sp.audio))
        starts = (d.cumsum(0) - d).tolist()
        return list(zip(sp.phonemes, starts, d.tolist(), strict=True))

    def reconstruct(self, conversion: str, y: torch.Tensor, renderer: str = "griffin_lim",
                    seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """Y (B, S) -> Y' -> rendered Y; the vocoder renders mels only."""
        conv = self.conversions[conversion]
        yp = conv.encode(y)
        rends = self.renderers(conversion)
        if renderer not in rends:
            raise ValueError(
                f"renderer {renderer!r} cannot render Y' = {conversion}; choose one of {', '.join(rends)}"
            )
        return yp, rends[renderer].sample(yp, seed=seed)

    def reconstruction_metrics(self, y: torch.Tensor, rec: torch.Tensor) -> dict[str, float]:
        """How close re-rendered audio ``rec`` is to ``y`` (B, S), over their common length:
        log-mel L1 (0 is identical) and STOI (1 is fully intelligible), averaged over the batch."""
        s = min(y.shape[-1], rec.shape[-1])
        a, b = y[..., :s].float().cpu().reshape(-1, s), rec[..., :s].float().cpu().reshape(-1, s)
        mel = self.conversions["mel"]
        l1 = float((mel.encode(a) - mel.encode(b)).abs().mean())
        stoi = float(
            np.mean([metrics.stoi(ai, bi, SAMPLE_RATE) for ai, bi in zip(a, b, strict=True)])
        )
        return {"log-mel L1": l1, "STOI": stoi}

    # -------------------------------------------------------------------------- evaluation

    @torch.inference_mode()
    def evaluate(self, n_per_class: int = 50, seed: int = 0, temperature: float = 0.8
                 ) -> dict[str, Any]:  # fmt: skip
        """Renderers, prior, pipeline and direct on ``n_per_class`` held-out test utterances."""
        check_sampling_args(n_per_class, temperature)
        p = prepare("test")
        n = min(n_per_class, len(p.frames))
        mel = self.conversions["mel"]
        out: dict[str, Any] = {"dataset": self.dataset, "checkpoints": str(self.ckpt_dir),
                               "utterances": n, "seed": seed, "temperature": temperature}  # fmt: skip
        refs = [p.data.wave(i) for i in range(n)]
        true_mels = [mel.encode(w) for w in refs]  # (1, M, T) each
        audio_s = sum(len(w) for w in refs) / SAMPLE_RATE

        def score(render) -> dict[str, float]:
            rows, secs = [], 0.0
            for i in range(n):
                t0 = time.perf_counter()
                y = render(i)
                secs += time.perf_counter() - t0
                rows.append(audio_scores(refs[i], y[0], true_mels[i], mel))
            return _mean(rows) | {"rtf": secs / audio_s}

        conv = {}
        for name, c in self.conversions.items():
            conv[name] = {"kind": c.kind, "values_per_second": c.y_prime_shape((SAMPLE_RATE,))[0]
                          * SAMPLE_RATE / STFT.hop, "compression_ratio": c.compression_ratio((SAMPLE_RATE * 10,))}  # fmt: skip
            conv[name] |= score(
                lambda i, c=c: GriffinLimRenderer(c).sample(c.encode(refs[i]), seed=seed + i)
            )
        out["conversions"] = conv
        self.vocoder_renderer.sample(true_mels[0])  # warm up before timing
        out["renderers"] = {
            "griffin_lim_32": {
                k: v for k, v in conv["mel"].items() if k in ("mel_l1", "stoi", "pesq_wb", "rtf")
            },
            "vocoder": score(lambda i: self.vocoder_renderer.sample(true_mels[i]))
            | {"params": n_params(self.vocoder)},
        }
        # the prior with true durations (teacher-forced timing), and the whole pipeline from it
        ph, dur, voice, cond = (
            t[:n].to(self.device) for t in (p.phonemes, p.durations, p.data.voices, p.cond)
        )
        prior_rows, pipe_rows, direct_rows, dur_err = [], [], [], []
        for i in range(n):
            k = int((ph[i] > 0).sum())
            args = (ph[i : i + 1, :k], voice[i : i + 1], cond[i : i + 1])
            m, _ = self.prior_model.infer(*args, durations=dur[i : i + 1, :k])
            prior_rows.append({"mel_l1": float((m.cpu() - true_mels[i]).abs().mean())})
            pipe_rows.append(
                audio_scores(refs[i], self.vocoder_renderer.sample(m)[0], true_mels[i], mel)
            )
            yd, _ = self.direct.model.infer(*args, durations=dur[i : i + 1, :k])
            direct_rows.append(audio_scores(refs[i], yd[0].cpu(), true_mels[i], mel))
            _, mean, _, _, _ = self.prior_model.encoder(*args)
            pred = (mean.exp() - 1).round().clamp(min=1)[0]
            dur_err.append(float((pred - dur[i, :k]).abs().float().mean()))
        out["prior"] = _mean(prior_rows) | {"duration_mae_frames": float(np.mean(dur_err)),
                                           "params": n_params(self.prior_model)}  # fmt: skip
        out["pipeline"] = _mean(pipe_rows) | {
            "params": n_params(self.prior_model) + n_params(self.vocoder)
        }
        out["direct"] = _mean(direct_rows) | {"params": n_params(self.direct.model)}
        for k, stages in (("pipeline", ("prior", "vocoder")), ("direct", ("direct",)),
                          ("prior", ("prior",))):  # fmt: skip
            out[k]["train_seconds"] = sum(
                read_record(self.ckpt_dir / s)["meta"]["seconds"] for s in stages
            )
        out["renderers"]["vocoder"]["train_seconds"] = read_record(self.ckpt_dir / "vocoder")[
            "meta"
        ]["seconds"]
        return out


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    """Means over utterances; a metric undefined on an utterance (NaN) is left out of its mean."""
    keys = [k for k in rows[0] if all(k in r for r in rows)]
    return {k: float(np.nanmean([r[k] for r in rows])) for k in keys}


def audio_scores(
    ref: torch.Tensor, y: torch.Tensor, ref_mel: torch.Tensor, mel: LogMel
) -> dict[str, float]:
    """Log-mel L1 after re-analysis, STOI and (where it installs) wide-band PESQ of y vs ref."""
    s = min(len(ref), len(y))
    ref, y = ref[:s], y[:s]
    m = mel.encode(y)
    t = min(m.shape[-1], ref_mel.shape[-1])
    row = {"mel_l1": float((m[..., :t] - ref_mel[..., :t]).abs().mean()),
           "stoi": metrics.stoi(ref, y, SAMPLE_RATE)}  # fmt: skip
    pesq = metrics.pesq_wb(ref, y, SAMPLE_RATE)
    if pesq is not None and math.isfinite(pesq):
        row["pesq_wb"] = pesq
    return row


register_task(
    TaskSpec(
        name="tts",
        title="text -> speech (eSpeak NG corpus)",
        datasets=DATASETS,
        build=lambda dataset, **kw: TTSTask(dataset, **kw),
        trainer=Trainer(STAGES, tuple(PRESETS), train_stage),
    )
)
