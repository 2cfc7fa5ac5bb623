"""The shipped speech checkpoints meet the thresholds the README reports (issue 4's acceptance)."""

from __future__ import annotations

import math


def test_vocoder_is_close_to_griffin_lim(tts_eval):
    """Its speed (>= 5x Griffin-Lim-32's) is measured in benches/renderer_speed.py, not here."""
    gl, voc = tts_eval["renderers"]["griffin_lim_32"], tts_eval["renderers"]["vocoder"]
    assert voc["mel_l1"] <= 1.25 * gl["mel_l1"], (voc["mel_l1"], gl["mel_l1"])
    assert voc["stoi"] >= 0.93
    assert voc["params"] <= 1_500_000


def test_pipeline_from_predicted_mels_is_intelligible(tts_eval):
    """Text -> mel (true durations) -> vocoder, against the eSpeak reference."""
    assert tts_eval["pipeline"]["stoi"] >= 0.75


def test_mel_beats_mfcc_as_y_prime(tts_eval):
    """Sec. 4.1: rendered by the same Griffin-Lim, MFCC loses what mel keeps."""
    conv = tts_eval["conversions"]
    assert conv["mel"]["stoi"] > conv["mfcc"]["stoi"]
    assert conv["mel"]["mel_l1"] < conv["mfcc"]["mel_l1"]


def test_direct_baseline_is_matched_and_reported(tts_eval):
    pipe, direct = tts_eval["pipeline"], tts_eval["direct"]
    assert 0.8 <= direct["params"] / pipe["params"] <= 1.2
    assert 0.8 <= direct["train_seconds"] / pipe["train_seconds"] <= 1.25
    assert all(math.isfinite(direct[k]) for k in ("mel_l1", "stoi"))


def test_prior_durations_are_learned(tts_eval):
    assert tts_eval["prior"]["duration_mae_frames"] < 3.0
