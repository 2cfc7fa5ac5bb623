"""Bad input to the library raises a ValueError that says what was wrong."""

from __future__ import annotations

import pytest
import torch

from regenlab import get_task
from regenlab.core import check_sampling_args


@pytest.fixture(scope="module")
def task(shipped):
    return shipped["shapes"]


@pytest.mark.parametrize("bad", ["hexagon", 6, -1, "", True, 2.5])
def test_unknown_class(task, bad):
    with pytest.raises(ValueError, match="unknown class|no class"):
        task.parse_x(bad)


def test_class_by_name_and_index(task):
    assert task.parse_x(["circle", 1, "2"]) == [0, 1, 2]


@pytest.mark.parametrize("n", [0, -3, 1.5, True])
def test_bad_n(task, n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        task.pipelines["vq"].sample([0], n=n)


@pytest.mark.parametrize("t", [-1.0, float("nan"), float("inf")])
def test_bad_temperature(t):
    with pytest.raises(ValueError, match="temperature"):
        check_sampling_args(1, t)


def test_nan_image(task):
    y = torch.rand(1, 3, 32, 32)
    y[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        task.reconstruct("vq", y)


@pytest.mark.parametrize("shape", [(1, 3, 16, 16), (1, 1, 32, 32), (32, 32), (2, 3, 32, 32, 1)])
def test_wrong_shape(task, shape):
    with pytest.raises(ValueError, match="shape"):
        task.check_y(torch.rand(shape))


def test_out_of_range_and_wrong_type(task):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        task.check_y(torch.full((1, 3, 32, 32), 2.0))
    with pytest.raises(ValueError, match="torch.Tensor"):
        task.check_y([[0.0]])


def test_nan_y_prime_to_renderer(task):
    with pytest.raises(ValueError, match="NaN"):
        task.pipelines["downsample"].renderer.sample(torch.full((1, 3, 8, 8), float("nan")))
    with pytest.raises(ValueError, match="tokens must lie"):
        task.pipelines["vq"].renderer.sample(torch.full((1, 8, 8), 999, dtype=torch.long))


def test_unknown_task_dataset_and_conversion(task):
    with pytest.raises(ValueError, match="unknown task"):
        get_task("nope")
    with pytest.raises(ValueError, match="no data set"):
        get_task("image", "cifar")
    with pytest.raises(ValueError, match="unknown conversion"):
        task.visualize("fft", torch.zeros(1))
