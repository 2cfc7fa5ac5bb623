"""Speech models: Griffin-Lim, a neural vocoder, a phoneme -> mel prior and a direct text -> wave model.

Shapes: waveforms (B, S); spectrograms (B, F, T) with T = S // hop + 1; phonemes (B, P) long,
0 = padding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# --------------------------------------------------------------------------------- Griffin-Lim


def griffin_lim(
    mag: torch.Tensor,
    n_fft: int = 1024,
    hop: int = 256,
    n_iter: int = 32,
    momentum: float = 0.99,
    length: int | None = None,
    generator: torch.Generator | None = None,
    rand_init: bool = True,
) -> torch.Tensor:
    """Fast Griffin-Lim (Perraudin et al., 2013): |STFT| (B, F, T) -> waveform (B, S).

    Alternates x = iSTFT(|X| e^{i phi}) and phi = angle(STFT(x)), with momentum on the rebuilt
    spectrogram. The initial phase is uniform at random from ``generator`` (so it samples), or 0
    with ``rand_init=False`` (then it matches torchaudio.functional.griffinlim exactly).
    """
    window = torch.hann_window(n_fft, device=mag.device)
    if rand_init:
        phase = 2 * math.pi * torch.rand(mag.shape, generator=generator, device=mag.device)
        angles = torch.polar(torch.ones_like(mag), phase)
    else:
        angles = torch.ones_like(mag, dtype=torch.complex64)
    stft = dict(n_fft=n_fft, hop_length=hop, window=window)
    prev = torch.zeros((), dtype=torch.complex64, device=mag.device)
    for _ in range(n_iter):
        wave = torch.istft(mag * angles, length=length, **stft)
        rebuilt = torch.stft(wave, center=True, pad_mode="reflect", return_complex=True, **stft)
        angles = rebuilt - prev * (momentum / (1 + momentum)) if momentum else rebuilt
        angles = angles / (angles.abs() + 1e-16)
        prev = rebuilt
    return torch.istft(mag * angles, length=length, **stft)


# ------------------------------------------------------------------------------------ losses


def stft_mag(y: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    w = torch.hann_window(n_fft, device=y.device)
    return torch.stft(y, n_fft, hop, window=w, return_complex=True).abs()  # (B, F, T)


def multi_resolution_stft_loss(
    y_hat: torch.Tensor, y: torch.Tensor, resolutions=((512, 128), (1024, 256), (2048, 512))
) -> torch.Tensor:
    """Sum over resolutions of spectral convergence + L1 of log magnitudes (Yamamoto et al., 2020)."""
    total = y.new_zeros(())
    for n_fft, hop in resolutions:
        a, b = stft_mag(y_hat, n_fft, hop), stft_mag(y, n_fft, hop)
        sc = (b - a).norm() / b.norm().clamp_min(1e-5)
        mag = (a.clamp_min(1e-5).log() - b.clamp_min(1e-5).log()).abs().mean()
        total = total + sc + mag
    return total / len(resolutions)


# ----------------------------------------------------------------------------------- blocks


class ConvNeXt1d(nn.Module):
    """x + pw2(GELU(pw1(LN(dwconv(x))))) with a learned layer scale; (B, C, T) -> (B, C, T)."""

    def __init__(self, dim: int, hidden: int, kernel: int = 7, dilation: int = 1):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.dw = nn.Conv1d(dim, dim, kernel, padding=pad, dilation=dilation, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.pw1, self.pw2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.scale = nn.Parameter(torch.full((dim,), 0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dw(x).transpose(1, 2)  # (B, T, C)
        h = self.pw2(F.gelu(self.pw1(self.norm(h))))
        return x + (self.scale * h).transpose(1, 2)


class ISTFTHead(nn.Module):
    """Frames (B, C, T) -> waveform (B, (T - 1) * hop): predict log|X| and phase, then iSTFT.

    ``phase="direct"`` predicts each frame's phase outright (as Vocos). ``phase="advance"``
    predicts how far each bin's phase moves from one frame to the next, as a deviation from the
    advance of a stationary sinusoid at the bin's centre, 2 pi k hop / n_fft, and sums it over
    time: phi_t = sum_{s <= t} (2 pi k hop / n_fft + pi tanh(d_s)). Frames then stay coherent by
    construction, the way a phase vocoder keeps them.
    """

    def __init__(self, dim: int, n_fft: int = 1024, hop: int = 256, phase: str = "direct"):
        super().__init__()
        if phase not in ("direct", "advance"):
            raise ValueError(f"phase must be 'direct' or 'advance', got {phase!r}")
        self.n_fft, self.hop, self.phase = n_fft, hop, phase
        self.proj = nn.Linear(dim, n_fft + 2)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        k = torch.arange(n_fft // 2 + 1, dtype=torch.float32)
        self.register_buffer("advance", (2 * math.pi * k * hop / n_fft)[:, None], persistent=False)

    def forward(self, x: torch.Tensor, base_log_mag: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, C, T); ``base_log_mag`` (B, F, T), if given, is what log|X| is predicted around."""
        h = self.proj(x.transpose(1, 2)).transpose(1, 2)  # (B, n_fft + 2, T)
        log_mag, phase = h.chunk(2, 1)  # (B, F, T) each
        if base_log_mag is not None:
            log_mag = base_log_mag + log_mag
        if self.phase == "advance":
            step = torch.remainder(self.advance, 2 * math.pi) + math.pi * torch.tanh(phase)
            phase = torch.cumsum(step, -1)  # (B, F, T)
        spec = torch.polar(log_mag.clamp(max=6).exp(), phase)  # |X| e^{i phase}
        length = (x.shape[-1] - 1) * self.hop
        return torch.istft(spec, self.n_fft, self.hop, window=self.window, length=length)


# ---------------------------------------------------------------------------------- vocoder


class Vocoder(nn.Module):
    """Log-mel (B, M, T) -> waveform (B, (T - 1) * hop): ConvNeXt blocks and an iSTFT head.

    After Vocos (Siuzdenko et al., 2023), without its GAN: it keeps the frame rate of the mel all
    the way (no upsampling layers) and lets the inverse STFT make the samples, so it is cheap on a
    CPU. Trained self-supervised on audio alone: Y' = mel(Y) is computed, Y is the target.
    """

    def __init__(self, n_mels: int = 80, dim: int = 192, hidden: int = 576, layers: int = 6,
                 n_fft: int = 1024, hop: int = 256, phase: str = "direct",
                 sample_rate: int = 0):  # fmt: skip
        super().__init__()
        self.config = dict(n_mels=n_mels, dim=dim, hidden=hidden, layers=layers, n_fft=n_fft,
                           hop=hop, phase=phase, sample_rate=sample_rate)  # fmt: skip
        # sample_rate > 0: predict log|X| around the mel's pseudo-inverse, log max(M+ e^mel, 1e-5)
        if sample_rate:
            import torchaudio

            fb = torchaudio.functional.melscale_fbanks(
                n_fft // 2 + 1, 0.0, sample_rate / 2, n_mels, sample_rate, "slaney", "slaney"
            )  # (F, M)
            self.register_buffer("mel_pinv", torch.linalg.pinv(fb.T), persistent=False)  # (F, M)
        else:
            self.mel_pinv = None
        self.inp = nn.Conv1d(n_mels, dim, 7, padding=3)
        self.norm = nn.LayerNorm(dim)
        self.blocks = nn.Sequential(*(ConvNeXt1d(dim, hidden) for _ in range(layers)))
        self.out_norm = nn.LayerNorm(dim)
        self.head = ISTFTHead(dim, n_fft, hop, phase)
        self.mel_fn = None  # set by the trainer: waveform -> log-mel, for the mel loss

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.inp(mel).transpose(1, 2)).transpose(1, 2)
        x = self.blocks(x)
        x = self.out_norm(x.transpose(1, 2)).transpose(1, 2)
        base = None
        if self.mel_pinv is not None:  # (F, M) @ (B, M, T) -> (B, F, T)
            base = (self.mel_pinv @ mel.exp()).clamp_min(1e-5).log()
        return self.head(x, base)

    def loss(self, mel: torch.Tensor, wave: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """mel (B, M, T) = mel(wave), wave (B, (T - 1) * hop): multi-resolution STFT + mel L1."""
        y_hat = self(mel)
        stft = multi_resolution_stft_loss(y_hat, wave)
        mel_l1 = (self.mel_fn(y_hat) - mel).abs().mean()
        return stft + mel_l1, {"stft": stft.item(), "mel_l1": mel_l1.item()}


# ------------------------------------------------------------------------- phoneme -> mel prior


class ConvStack(nn.Module):
    """Residual conv layers with layer norm and dropout over (B, C, T), masked at the padding."""

    def __init__(self, dim: int, layers: int, kernel: int = 5, dropout: float = 0.1,
                 dilations: tuple[int, ...] = (1,)):  # fmt: skip
        super().__init__()
        self.blocks = nn.ModuleList(
            ConvNeXt1d(dim, 2 * dim, kernel, dilations[i % len(dilations)]) for i in range(layers)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, C, T), mask (B, 1, T) True where real."""
        for b in self.blocks:
            x = self.drop(b(x * mask))
        return x * mask


def length_regulate(h: torch.Tensor, durations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """FastSpeech's length regulator: repeat phoneme i durations[i] times.

    h (B, C, P), durations (B, P) long -> frames (B, C, T) with T = max total, and mask (B, 1, T).
    """
    total = durations.sum(1)  # (B,)
    t = int(total.max().clamp_min(1))
    ends = durations.cumsum(1)  # (B, P)
    frame = torch.arange(t, device=h.device)  # (T,)
    idx = (frame[None, :, None] >= ends[:, None, :]).sum(-1)  # (B, T): which phoneme
    idx = idx.clamp(max=h.shape[-1] - 1)
    frames = torch.gather(h, 2, idx[:, None, :].expand(-1, h.shape[1], -1))
    mask = (frame[None] < total[:, None])[:, None]  # (B, 1, T)
    return frames * mask, mask


class TextEncoder(nn.Module):
    """Phonemes (B, P) with voice (B,) and pitch (B,) -> hidden (B, C, P), plus durations.

    The duration predictor gives a Gaussian over log(1 + frames) per phoneme: mean and log-std.
    Voice, pitch and speaking rate are conditions (the eSpeak settings), so the prior knows which
    pitch to produce and how fast to speak; the sampler draws them when the user leaves them out.
    """

    def __init__(self, n_phonemes: int, n_voices: int, dim: int, layers: int, dropout: float):
        super().__init__()
        self.emb = nn.Embedding(n_phonemes, dim, padding_idx=0)
        self.voice = nn.Embedding(n_voices, dim)
        self.cont = nn.Linear(2, dim)  # (pitch, rate), both scaled to about [-1, 1]
        self.enc = ConvStack(dim, layers, 5, dropout)
        self.dur = nn.Sequential(ConvNeXt1d(dim, dim, 3), ConvNeXt1d(dim, dim, 3))
        self.dur_out = nn.Conv1d(dim, 2, 1)

    def cond(self, voice: torch.Tensor, pitch_rate: torch.Tensor) -> torch.Tensor:
        return (self.voice(voice) + self.cont(pitch_rate))[:, :, None]  # (B, C, 1)

    def forward(self, phonemes, voice, pitch_rate):
        mask = (phonemes > 0)[:, None]  # (B, 1, P)
        c = self.cond(voice, pitch_rate)
        h = self.enc((self.emb(phonemes).transpose(1, 2) + c) * mask, mask)  # (B, C, P)
        d = self.dur_out(self.dur(h.detach() * mask) * mask)  # (B, 2, P)
        return h, d[:, 0], d[:, 1].clamp(-4, 2), mask, c


def duration_nll(mean, log_std, durations, mask) -> torch.Tensor:
    """Gaussian NLL of log(1 + d) under (mean, exp(log_std)), averaged over real phonemes."""
    target = durations.float().log1p()
    nll = 0.5 * ((target - mean) / log_std.exp()) ** 2 + log_std
    m = mask[:, 0].float()
    return (nll * m).sum() / m.sum()


MAX_FRAMES_PER_PHONEME = 60  # 0.7 s: no sampled phoneme lasts longer


def sample_durations(mean, log_std, mask, temperature: float, generator=None) -> torch.Tensor:
    """d = round(exp(mean + T * std * eps) - 1), 1 to 60 frames for real phonemes; (B, P) long."""
    eps = torch.randn(mean.shape, generator=generator, device=mean.device) if temperature else 0
    d = (mean + temperature * log_std.exp() * eps).clamp(
        max=math.log(MAX_FRAMES_PER_PHONEME)
    ).exp() - 1
    return (d.round().clamp(1, MAX_FRAMES_PER_PHONEME) * mask[:, 0]).long()


class PhonemeToMel(nn.Module):
    """A non-autoregressive (FastSpeech-style) prior P(mel | phonemes, voice, pitch, rate).

    Conv encoder over phonemes -> duration predictor and length regulator -> conv decoder over
    frames -> 80 mels. Trained with true (eSpeak) durations: L1 on the log-mel plus the duration
    NLL. Sampling draws durations from the predicted distribution (temperature scales the spread).
    """

    def __init__(self, n_phonemes: int, n_voices: int, n_mels: int = 80, dim: int = 192,
                 enc_layers: int = 4, dec_layers: int = 6, dropout: float = 0.1):  # fmt: skip
        super().__init__()
        self.config = dict(n_phonemes=n_phonemes, n_voices=n_voices, n_mels=n_mels, dim=dim,
                           enc_layers=enc_layers, dec_layers=dec_layers, dropout=dropout)  # fmt: skip
        self.encoder = TextEncoder(n_phonemes, n_voices, dim, enc_layers, dropout)
        self.pos = nn.Conv1d(1, dim, 1)  # relative position within each phoneme
        self.decoder = ConvStack(dim, dec_layers, 5, dropout, dilations=(1, 2, 4))
        self.out = nn.Conv1d(dim, n_mels, 1)
        self.floor = math.log(1e-5)

    def decode(self, h, durations, c) -> tuple[torch.Tensor, torch.Tensor]:
        frames, mask = length_regulate(h, durations)  # (B, C, T)
        frames = frames + self.pos(_phase_in_phoneme(durations, frames.shape[-1]))
        x = self.decoder((frames + c) * mask, mask)
        mel = self.out(x)  # (B, M, T)
        return torch.where(mask, mel, torch.full_like(mel, self.floor)), mask

    def loss(self, phonemes, durations, voice, pitch_rate, mel):
        """phonemes, durations (B, P); voice (B,); pitch_rate (B, 2); mel (B, M, T) padded at floor."""
        h, mean, log_std, pmask, c = self.encoder(phonemes, voice, pitch_rate)
        pred, mask = self.decode(h, durations, c)
        t = min(pred.shape[-1], mel.shape[-1])
        m = mask[..., :t].float()
        l1 = ((pred[..., :t] - mel[..., :t]).abs() * m).sum() / (m.sum() * mel.shape[1])
        dur = duration_nll(mean, log_std, durations, pmask)
        return l1 + 0.1 * dur, {"mel_l1": l1.item(), "dur_nll": dur.item()}

    @torch.no_grad()
    def infer(self, phonemes, voice, pitch_rate, temperature=1.0, durations=None, generator=None):
        """-> (mel (B, M, T), durations (B, P)); ``durations`` given: teacher-forced timing."""
        h, mean, log_std, pmask, c = self.encoder(phonemes, voice, pitch_rate)
        if durations is None:
            durations = sample_durations(mean, log_std, pmask, temperature, generator)
        mel, _ = self.decode(h, durations, c)
        return mel, durations


def _phase_in_phoneme(durations: torch.Tensor, t: int) -> torch.Tensor:
    """(B, 1, T): for each frame, how far into its phoneme it is, in [0, 1)."""
    starts = durations.cumsum(1) - durations  # (B, P)
    frame = torch.arange(t, device=durations.device)
    ends = durations.cumsum(1)
    idx = (frame[None, :, None] >= ends[:, None, :]).sum(-1).clamp(max=durations.shape[1] - 1)
    start = torch.gather(starts, 1, idx)
    dur = torch.gather(durations, 1, idx).clamp_min(1)
    return ((frame[None] - start).float() / dur.float())[:, None]


# --------------------------------------------------------------------- direct text -> waveform


class DirectTTS(nn.Module):
    """The baseline text -> waveform in one step: the prior's encoder and timing, then frames
    straight to samples through an iSTFT head, trained only on the waveform (no mel target).
    """

    def __init__(self, n_phonemes: int, n_voices: int, dim: int = 192, enc_layers: int = 4,
                 dec_layers: int = 10, dropout: float = 0.1, n_fft: int = 1024, hop: int = 256):  # fmt: skip
        super().__init__()
        self.config = dict(n_phonemes=n_phonemes, n_voices=n_voices, dim=dim, enc_layers=enc_layers,
                           dec_layers=dec_layers, dropout=dropout, n_fft=n_fft, hop=hop)  # fmt: skip
        self.encoder = TextEncoder(n_phonemes, n_voices, dim, enc_layers, dropout)
        self.pos = nn.Conv1d(1, dim, 1)
        self.decoder = ConvStack(dim, dec_layers, 5, dropout, dilations=(1, 2, 4))
        self.head = ISTFTHead(dim, n_fft, hop)
        self.mel_fn = None

    def wave(self, h, durations, c) -> torch.Tensor:
        frames, mask = length_regulate(h, durations)
        frames = frames + self.pos(_phase_in_phoneme(durations, frames.shape[-1]))
        return self.head(self.decoder((frames + c) * mask, mask))  # (B, (T - 1) * hop)

    def loss(self, phonemes, durations, voice, pitch_rate, wave):
        h, mean, log_std, pmask, c = self.encoder(phonemes, voice, pitch_rate)
        y_hat = self.wave(h, durations, c)
        s = min(y_hat.shape[-1], wave.shape[-1])
        y_hat, wave = y_hat[..., :s], wave[..., :s]
        stft = multi_resolution_stft_loss(y_hat, wave)
        mel_l1 = (self.mel_fn(y_hat) - self.mel_fn(wave)).abs().mean()
        dur = duration_nll(mean, log_std, durations, pmask)
        return stft + mel_l1 + 0.1 * dur, {"stft": stft.item(), "mel_l1": mel_l1.item(),
                                           "dur_nll": dur.item()}  # fmt: skip

    @torch.no_grad()
    def infer(self, phonemes, voice, pitch_rate, temperature=1.0, durations=None, generator=None):
        h, mean, log_std, pmask, c = self.encoder(phonemes, voice, pitch_rate)
        if durations is None:
            durations = sample_durations(mean, log_std, pmask, temperature, generator)
        return self.wave(h, durations, c), durations
