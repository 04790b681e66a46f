"""The small numeric examples of the seed notes, each asserted."""

import numpy as np
import pytest

import convlens as cl
from convlens.functional.activation import softmax

A = np.arange(1, 17, dtype=np.float64).reshape(4, 4)


def test_seed004_convolution_4x4_with_3x3_kernel():
    conv = cl.Conv2d(1, 1, kernel_size=3, bias=False).double()
    conv.weight.data[0, 0] = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    np.testing.assert_array_equal(conv(A[None, None])[0, 0], [[30, 35], [50, 55]])


def test_seed004_max_pooling_2x2():
    np.testing.assert_array_equal(cl.MaxPool2d(2)(A[None, None])[0, 0], [[6, 8], [14, 16]])


def test_seed004_softmax_of_three_logits():
    p = softmax(np.array([1.5, 2.5, 0.5]))
    np.testing.assert_allclose(p, [0.2447, 0.6652, 0.0900], atol=5e-5)  # slides: 0.24, 0.66, 0.09
    assert p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(np.exp([1.5, 2.5, 0.5]), [4.48, 12.18, 1.65], atol=5e-3)


def test_seed004_cross_entropy_of_a_probability_vector():
    # −log(0.7) for label 1 = 0.3567; NLLLoss on log-probabilities computes exactly that
    loss = cl.NLLLoss()(np.log(np.array([[0.2, 0.7, 0.1]])), np.array([1]))
    assert loss == pytest.approx(0.3567, abs=5e-5)
    # and CrossEntropyLoss on logits whose softmax is [0.2, 0.7, 0.1]
    assert cl.CrossEntropyLoss()(np.log([[0.2, 0.7, 0.1]]), np.array([1])) == pytest.approx(-np.log(0.7))


@pytest.mark.parametrize("padding, expected", [(0, 26), (1, 28)])
def test_seed003_padding_demo(padding, expected):
    conv = cl.Conv2d(1, 3, kernel_size=3, padding=padding)
    assert conv(np.zeros((1, 1, 28, 28), np.float32)).shape == (1, 3, expected, expected)


def test_seed000_parameter_counts():
    model = cl.models.get_model("seed_net")
    weights = [p.size for name, p in model.named_parameters() if name.endswith("weight")]
    assert weights == [250, 5_000, 32_000, 1_000]
    assert sum(weights) == 38_250
    assert model.num_parameters() == 38_390


def test_lenet5_parameter_count_and_shapes():
    for variant in ("lenet5", "lenet5-1998"):
        model = cl.models.get_model(variant)
        assert model.num_parameters() == 61_706
        assert model(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)
    model32 = cl.models.lenet5(input_size=32)
    assert model32(np.zeros((2, 1, 32, 32), np.float32)).shape == (2, 10)


def test_seed004_simple_cnn_shapes():
    model = cl.models.get_model("simple_cnn")
    x = np.zeros((3, 1, 28, 28), np.float32)
    shapes = []
    for layer in model:
        x = layer(x)
        shapes.append(x.shape[1:])
    assert shapes[2] == (8, 13, 13) and shapes[5] == (16, 5, 5) and shapes[6] == (400,)
    assert shapes[-1] == (10,)
