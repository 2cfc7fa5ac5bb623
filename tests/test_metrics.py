"""Metrics against their definitions and reference values."""

from __future__ import annotations

import math

import torch

from regenlab import metrics


def test_psnr_matches_definition():
    y = torch.zeros(2, 1, 4, 4)
    assert math.isclose(metrics.psnr(y, y + 0.1), 20.0, rel_tol=1e-5)  # 10 log10(1 / 0.01)


def test_perplexity_uniform_and_single():
    codes = torch.arange(16).repeat(10)
    ppl, used = metrics.code_perplexity(codes, 32)
    assert math.isclose(ppl, 16, rel_tol=1e-6) and used == 0.5
    assert math.isclose(metrics.code_perplexity(torch.zeros(50, dtype=torch.long), 8)[0], 1.0)


def test_frechet_distance_zero_for_same_and_mean_shift():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=g)
    assert metrics.frechet_distance(a, a) < 1e-6
    shifted = metrics.frechet_distance(a, a + torch.tensor([2.0, 0.0, 0.0]))
    assert math.isclose(shifted, 4.0, rel_tol=1e-3)  # ||mu_r - mu_f||^2, equal covariances


def test_class_consistency_and_diversity():
    assert metrics.class_consistency(torch.tensor([1, 1, 0, 2]), torch.tensor([1, 1, 1, 2])) == 0.75
    f = torch.tensor([[0.0, 0.0], [3.0, 4.0], [10.0, 10.0], [10.0, 10.0]])
    assert math.isclose(metrics.within_class_diversity(f, torch.tensor([0, 0, 1, 1])), 2.5)
