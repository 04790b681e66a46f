"""cl.no_grad(): same outputs, nothing kept for backward."""

import numpy as np
import pytest

import convlens as cl


def test_no_grad_gives_the_same_output_and_keeps_no_cache():
    model = cl.models.get_model("lenet5").eval()
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    expected = model(x)
    with cl.no_grad():
        got = model(x)
    np.testing.assert_array_equal(got, expected)
    assert all(getattr(layer, "_cache", None) is None for layer in model)
    with pytest.raises(RuntimeError, match=r"backward\(\) was called before forward\(\)"):
        model.backward(np.ones_like(got))
    # and gradients work again outside the block
    model.backward(np.ones_like(model(x)))
    assert model[0].weight.grad is not None


@pytest.mark.parametrize("kind", ["MaxPool2d", "MinPool2d", "AvgPool2d"])
def test_pooling_without_winner_tracking_matches(kind):
    layer = getattr(cl, kind)(3, stride=2, padding=1)
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 9))
    expected = layer(x)
    with cl.no_grad():
        np.testing.assert_array_equal(layer(x), expected)
