"""Contracts of the speech task's parts: eSpeak data, conversions, renderers, prior and direct model.

Untrained models are enough here: shapes, seeding, batch consistency, round trips and parity
with torchaudio's reference implementations.
"""

from __future__ import annotations

import pytest
import torch
import torchaudio

from regenlab.conversions.audio import LOG_FLOOR, MFCC, LogLinear, LogMel, STFTConfig
from regenlab.data.espeak import SAMPLE_RATE, synthesize
from regenlab.data.speech import VOICES, _split_of, load_speech
from regenlab.models.audio import griffin_lim, length_regulate, sample_durations
from regenlab.tasks.tts import (
    DirectSpeech,
    GriffinLimRenderer,
    MelPrior,
    Phonemizer,
    VocoderRenderer,
    check_text,
)
from regenlab.tasks.tts_train import STFT, build, durations_of, prepare

CONVERSIONS = [LogMel, LogLinear, MFCC]


@pytest.fixture(scope="module")
def speech() -> torch.Tensor:
    return torch.from_numpy(synthesize("regeneration learning", "en-us", 175, 50).audio)


# ------------------------------------------------------------------------------------ data


def test_espeak_speaks_with_alignment(speech):
    u = synthesize("hello world", "en-us+f3", 160, 60)
    assert u.audio.dtype.name == "float32" and 0.3 * SAMPLE_RATE < len(u.audio) < 3 * SAMPLE_RATE
    assert 0.05 < abs(u.audio).max() <= 1.0
    assert len(u.phonemes) == len(u.starts) >= 6
    assert list(u.starts) == sorted(u.starts) and u.starts[-1] <= len(u.audio)
    again = synthesize("hello world", "en-us+f3", 160, 60)
    assert again.phonemes == u.phonemes, "the same text and settings, the same phonemes"
    assert abs(len(again.audio) - len(u.audio)) < 0.01 * len(u.audio)
    slower = synthesize("hello world", "en-us+f3", 120, 60)
    assert len(slower.audio) > len(u.audio), "rate changes the timing"


def test_unknown_voice_is_refused():
    with pytest.raises(ValueError, match="voice"):
        synthesize("hello", "xx-nowhere")


def test_corpus_splits_are_fixed_and_test_words_unseen():
    train, test = load_speech("train"), load_speech("test")
    assert len(test) == 100 and len(train) == 2000
    assert load_speech("test").texts == test.texts
    train_words = {w for t in train.texts for w in t.split()}
    test_words = {w for t in test.texts for w in t.split()}
    assert not train_words & test_words
    assert all(_split_of(w) == "test" for w in test_words)
    assert set(train.voices.tolist()) == set(range(len(VOICES))), "every voice is heard"


def test_durations_cover_every_frame():
    p = prepare("test")
    assert torch.equal(p.durations.sum(1), p.frames)
    d = durations_of(torch.tensor([300, 2000, 5000]), 8000)
    assert d.sum() == STFT.frames(8000) and (d >= 0).all()


# ----------------------------------------------------------------------------- conversions


@pytest.mark.parametrize("cls", CONVERSIONS)
def test_conversion_shapes_and_batching(cls, speech):
    c = cls(STFT)
    y = torch.stack([speech, speech.flip(0)])
    yp = c.encode(y)
    assert yp.shape == (2, *c.y_prime_shape(speech.shape))
    assert torch.allclose(yp[1:], c.encode(speech.flip(0)[None]), atol=1e-4), "batch consistency"
    assert c.kind == "explicit" and not c.discrete
    assert c.card.keeps and c.card.drops and c.card.principles


def test_logmel_matches_torchaudio_melspectrogram(speech):
    ref = torchaudio.transforms.MelSpectrogram(
        SAMPLE_RATE,
        n_fft=1024,
        hop_length=256,
        n_mels=80,
        power=1.0,
        norm="slaney",
        mel_scale="slaney",
    )(speech)
    assert torch.allclose(LogMel(STFT).encode(speech)[0], ref.clamp_min(LOG_FLOOR).log(), atol=1e-4)


def test_mfcc_is_the_dct_of_the_logmel(speech):
    ref = torchaudio.functional.create_dct(20, 80, "ortho").T @ LogMel(STFT).encode(speech)[0]
    assert torch.allclose(MFCC(STFT).encode(speech)[0], ref, atol=1e-3)


def test_compression_ratios():
    y = (SAMPLE_RATE,)
    assert LogMel().compression_ratio(y) == pytest.approx(256 / 80, rel=0.02)
    assert (
        LogLinear().compression_ratio(y)
        < 1
        < LogMel().compression_ratio(y)
        < MFCC().compression_ratio(y)
    )


@pytest.mark.parametrize("cls", CONVERSIONS)
def test_bad_audio_is_refused(cls):
    c = cls(STFTConfig())
    with pytest.raises(ValueError, match="NaN"):
        c.encode(torch.full((4096,), float("nan")))
    with pytest.raises(ValueError, match="shape"):
        c.encode(torch.zeros(1, 2, 4096))
    with pytest.raises(ValueError, match="too short"):
        c.encode(torch.zeros(100))


# ------------------------------------------------------------------------------- renderers


def test_griffin_lim_matches_torchaudio(speech):
    mag = LogLinear(STFT).encode(speech).exp()
    ours = griffin_lim(mag, 1024, 256, n_iter=8, length=len(speech), rand_init=False)
    ref = torchaudio.functional.griffinlim(mag, torch.hann_window(1024), 1024, 256, 1024, 1.0, 8,
                                           0.99, len(speech), rand_init=False)  # fmt: skip
    assert torch.allclose(ours, ref, atol=1e-4)


def test_griffin_lim_from_linear_round_trip(speech):
    """Round trip Y -> |STFT| -> Griffin-Lim -> Y: the re-analysed spectrum comes back close."""
    c = LogMel(STFT)
    y = GriffinLimRenderer(LogLinear(STFT)).sample(LogLinear(STFT).encode(speech), seed=0)
    assert (c.encode(y) - c.encode(speech[: y.shape[-1]])).abs().mean() < 0.35


@pytest.mark.parametrize("cls", CONVERSIONS)
def test_griffin_lim_renderer_contract(cls, speech):
    c = cls(STFT)
    yp = c.encode(torch.stack([speech, speech]))
    r = GriffinLimRenderer(c, n_iter=4)
    a, b = r.sample(yp, n=2, seed=3), r.sample(yp, n=2, seed=3)
    assert a.shape == (4, STFT.samples(yp.shape[-1]))
    assert torch.equal(a, b), "same seed, same rendering"
    assert not torch.equal(a[0], a[1]), "a random initial phase: renderings differ"
    assert not torch.equal(a, r.sample(yp, n=2, seed=4))
    assert a.abs().max() <= 1


def test_vocoder_renderer_contract(speech):
    torch.manual_seed(0)
    v = VocoderRenderer(build("vocoder").eval(), torch.device("cpu"))
    mel = LogMel(STFT).encode(torch.stack([speech, speech.flip(0)]))
    y = v.sample(mel, n=2, seed=0)
    assert y.shape == (4, STFT.samples(mel.shape[-1]))
    assert torch.equal(y[0], y[1]), "the vocoder is deterministic: n copies"
    assert torch.allclose(y[2], v.sample(mel[1:], seed=0)[0], atol=1e-5), "batch consistency"
    with pytest.raises(ValueError, match="NaN"):
        v.sample(torch.full_like(mel, float("nan")))


# ------------------------------------------------------------------------ prior and direct


@pytest.fixture(scope="module")
def phonemize() -> Phonemizer:
    return Phonemizer(load_speech("train").vocab)


def test_length_regulator():
    h = torch.arange(6.0).view(1, 2, 3)  # (B=1, C=2, P=3)
    frames, mask = length_regulate(h, torch.tensor([[2, 0, 3]]))
    assert frames.shape == (1, 2, 5) and mask.all()
    assert frames[0, 0].tolist() == [0, 0, 2, 2, 2]


def test_sampled_durations_are_seeded_and_the_mode_at_temperature_zero():
    mean, log_std = torch.full((2, 5), 1.5), torch.zeros(2, 5)
    mask = torch.ones(2, 1, 5, dtype=torch.bool)
    g = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    a, b = (
        sample_durations(mean, log_std, mask, 1.0, g(0)),
        sample_durations(mean, log_std, mask, 1.0, g(0)),
    )
    assert torch.equal(a, b) and (a >= 1).all()
    assert not torch.equal(a, sample_durations(mean, log_std, mask, 1.0, g(1)))
    mode = sample_durations(mean, log_std, mask, 0.0, g(5))
    assert (mode == round(torch.tensor(1.5).exp().item() - 1)).all()


@pytest.mark.parametrize("kind", ["prior", "direct"])
def test_text_models_contract(kind, phonemize):
    torch.manual_seed(0)
    model = build(kind, 3_000_000).eval()
    cls = MelPrior if kind == "prior" else DirectSpeech
    s = cls(model, phonemize, torch.device("cpu"))
    x = ["good morning", {"text": "hello", "voice": "en+m3", "pitch": 40, "rate": 150}]
    a = s.sample(x, n=2, temperature=1.0, seed=7)
    assert a.shape[0] == 4 and torch.isfinite(a).all()
    if kind == "prior":
        assert a.shape[1] == 80
    assert torch.equal(a, s.sample(x, n=2, temperature=1.0, seed=7)), "same seed, same samples"
    assert not torch.equal(a, s.sample(x, n=2, temperature=1.0, seed=8))
    m1, m2 = (
        s.sample(x[:1], n=1, temperature=0, seed=1),
        s.sample(x[:1], n=1, temperature=0, seed=2),
    )
    assert torch.equal(m1, m2), "temperature 0 is the mode: no randomness left"


def test_text_is_checked():
    assert check_text("  hello   world ") == "hello world"
    for bad, msg in [("", "empty"), ("   ", "empty"), ("a" * 501, "too long"), ("!!! 123 ?", "pronounceable"),
                     (None, "string")]:  # fmt: skip
        with pytest.raises(ValueError, match=msg):
            check_text(bad)
