"""Audio conversions: waveform Y (B, S) at 22,050 Hz -> a time-frequency Y' (B, F, T).

All three are explicit (fixed signal processing, no learning), computed with torchaudio:

- ``LogMel``: log of an 80-band mel magnitude spectrogram (the paper's Y' for speech synthesis);
- ``LogLinear``: log magnitude of the STFT itself, 513 bins: keeps more, compresses nothing;
- ``MFCC``: the first 20 DCT coefficients of the log-mel: so compact that the spectral envelope's
  fine structure, and with it the pitch harmonics, are gone; too lossy to render from (sec. 4.1).

The magnitude STFT is |STFT(y)| with a Hann window, n_fft 1024, hop 256 (centred, reflect-padded),
so T = S // hop + 1 frames. The log floor is 1e-5 (-11.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torchaudio

from regenlab.core import Card, Conversion, check_finite

LOG_FLOOR = 1e-5


@dataclass(frozen=True)
class STFTConfig:
    sample_rate: int = 22050
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 80
    f_min: float = 0.0
    f_max: float | None = None  # None: sample_rate / 2
    n_mfcc: int = 20

    def frames(self, n_samples: int) -> int:
        return n_samples // self.hop + 1

    def samples(self, n_frames: int) -> int:
        return (n_frames - 1) * self.hop


def _check_wave(y: torch.Tensor) -> torch.Tensor:
    check_finite(y, "audio")
    if y.dim() == 1:
        y = y[None]
    if y.dim() != 2:
        raise ValueError(f"audio must be (S,) or (B, S), got shape {tuple(y.shape)}")
    if y.shape[-1] < 1024:
        raise ValueError(f"audio is too short ({y.shape[-1]} samples; at least 1024 needed)")
    return y


class _Spectral(Conversion):
    kind = "explicit"
    discrete = False

    def __init__(self, cfg: STFTConfig | None = None):
        self.cfg = cfg or STFTConfig()
        c = self.cfg
        self.spec = torchaudio.transforms.Spectrogram(n_fft=c.n_fft, hop_length=c.hop, power=1.0)
        self.mel_scale = torchaudio.transforms.MelScale(
            n_mels=c.n_mels, sample_rate=c.sample_rate, f_min=c.f_min, f_max=c.f_max,
            n_stft=c.n_fft // 2 + 1, norm="slaney", mel_scale="slaney",
        )  # fmt: skip

    def magnitude(self, y: torch.Tensor) -> torch.Tensor:
        """|STFT(y)|: (B, S) -> (B, n_fft / 2 + 1, T)."""
        y = _check_wave(y)
        return self.spec.to(y.device)(y)

    def bits_ratio(self, y_shape: Sequence[int], y_bits: int = 16) -> float:
        """As Conversion.bits_ratio, with Y as 16-bit PCM (not 8-bit pixels)."""
        return super().bits_ratio(y_shape, y_bits)

    def mel_basis(self) -> torch.Tensor:
        """(n_fft / 2 + 1, n_mels): mel = basis^T |STFT|."""
        return self.mel_scale.fb

    def to_dict(self) -> dict:
        return asdict(self.cfg)


class LogMel(_Spectral):
    """log(max(M |STFT(y)|, 1e-5)), M an 80-band slaney mel filter bank: (B, S) -> (B, 80, T)."""

    name = "mel"

    def __init__(self, cfg: STFTConfig | None = None):
        super().__init__(cfg)
        c = self.cfg
        self.card = Card(
            keeps=f"the energy in {c.n_mels} perceptual (mel) bands every {1000 * c.hop / c.sample_rate:.1f} ms: "
            "what is said, pitch harmonics below ~1 kHz, loudness, timing",
            drops="the phase, and frequency detail within each band (fine above ~1 kHz); "
            "the renderer (Griffin-Lim or a vocoder) must re-create them",
            principles="1 frames line up with phonemes, so text predicts it well; 2 close to the "
            "waveform, a vocoder renders it; 3 about 3x fewer values than samples, smooth",
        )  # fmt: skip

    @torch.no_grad()
    def encode(self, y: torch.Tensor) -> torch.Tensor:
        mag = self.magnitude(y)
        return self.mel_scale.to(mag.device)(mag).clamp_min(LOG_FLOOR).log()  # (B, n_mels, T)

    def y_prime_shape(self, y_shape: Sequence[int]) -> tuple[int, ...]:
        return (self.cfg.n_mels, self.cfg.frames(y_shape[-1]))

    def to_magnitude(self, y_prime: torch.Tensor) -> torch.Tensor:
        """Mel -> linear magnitude by the filter bank's pseudo-inverse, clamped at 0: (B, F, T)."""
        if getattr(self, "_pinv", None) is None:
            self._pinv = torch.linalg.pinv(self.mel_basis().T)  # (F, M), computed once
        return (self._pinv.to(y_prime.device) @ y_prime.exp()).clamp_min(0)


class LogLinear(_Spectral):
    """log(max(|STFT(y)|, 1e-5)): (B, S) -> (B, 513, T)."""

    name = "linear"

    def __init__(self, cfg: STFTConfig | None = None):
        super().__init__(cfg)
        self.card = Card(
            keeps="every STFT magnitude: all the frequency detail there is",
            drops="only the phase (Griffin-Lim recovers a consistent one)",
            principles="1 hard to predict: 513 noisy bins a frame; 2 easiest to render; "
            "3 not compact at all: more values than the waveform",
        )

    @torch.no_grad()
    def encode(self, y: torch.Tensor) -> torch.Tensor:
        return self.magnitude(y).clamp_min(LOG_FLOOR).log()  # (B, 513, T)

    def y_prime_shape(self, y_shape: Sequence[int]) -> tuple[int, ...]:
        return (self.cfg.n_fft // 2 + 1, self.cfg.frames(y_shape[-1]))

    def to_magnitude(self, y_prime: torch.Tensor) -> torch.Tensor:
        return y_prime.exp()


def dct_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """Orthonormal DCT-II, (n_in, n_out): coefficients = x @ D (torchaudio.functional.create_dct)."""
    return torchaudio.functional.create_dct(n_out, n_in, norm="ortho")


class MFCC(_Spectral):
    """The first n_mfcc DCT-II coefficients of the log-mel: (B, S) -> (B, 20, T)."""

    name = "mfcc"

    def __init__(self, cfg: STFTConfig | None = None):
        super().__init__(cfg)
        self.logmel = LogMel(self.cfg)
        self.dct = dct_matrix(self.cfg.n_mels, self.cfg.n_mfcc)  # (n_mels, n_mfcc)
        self.card = Card(
            keeps=f"the smooth spectral envelope ({self.cfg.n_mfcc} cepstral coefficients): "
            "which vowel or consonant, loudness",
            drops="the harmonics that carry pitch and voicing; no renderer can tell them apart "
            "again, so speech rendered from MFCC sounds hoarse and robotic",
            principles="1 easy to predict; 2 too lossy to render from (the paper's sec. 4.1); "
            f"3 very compact: {self.cfg.n_mfcc} values a frame",
        )

    @torch.no_grad()
    def encode(self, y: torch.Tensor) -> torch.Tensor:
        logmel = self.logmel.encode(y)  # (B, M, T)
        return torch.einsum("bmt,mc->bct", logmel, self.dct.to(logmel.device))

    def y_prime_shape(self, y_shape: Sequence[int]) -> tuple[int, ...]:
        return (self.cfg.n_mfcc, self.cfg.frames(y_shape[-1]))

    def to_logmel(self, y_prime: torch.Tensor) -> torch.Tensor:
        """The smooth log-mel envelope the coefficients describe (inverse DCT, truncated)."""
        return torch.einsum("bct,mc->bmt", y_prime, self.dct.to(y_prime.device))

    def to_magnitude(self, y_prime: torch.Tensor) -> torch.Tensor:
        return self.logmel.to_magnitude(self.to_logmel(y_prime))


AUDIO_CONVERSIONS = {"mel": LogMel, "linear": LogLinear, "mfcc": MFCC}
