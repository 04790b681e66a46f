"""cl.save_weights / cl.load_weights (convlens/io/__init__.py): another model's weights give one
error naming every missing, unexpected and mismatched parameter, and change nothing."""

import re

import numpy as np
import pytest

import convlens as cl
from convlens.layers.module import StateDictError


def test_another_model_s_weights_name_missing_unexpected_and_mismatched_parameters(tmp_path):
    cl.manual_seed(0)
    saved = cl.Sequential(cl.Conv2d(1, 4, 3), cl.ReLU(), cl.Flatten(), cl.Linear(36, 10))
    cl.save_weights(saved, tmp_path / "w.npz")
    model = cl.Sequential(cl.Conv2d(1, 4, 5), cl.ReLU(), cl.Flatten(), cl.Linear(16, 10),
                          cl.Linear(10, 2))
    before = {name: value.copy() for name, value in model.state_dict().items()}
    with pytest.raises(StateDictError) as info:
        cl.load_weights(model, tmp_path / "w.npz")
    message = str(info.value)
    assert message == (
        f"{tmp_path / 'w.npz'} does not fit Sequential:\n"
        "  missing keys (in the model, not in the state): ['4.weight', '4.bias']\n"
        "  shape mismatch for '0.weight': the model expects (4, 1, 5, 5), the state holds (4, 1, 3, 3)\n"
        "  shape mismatch for '3.weight': the model expects (10, 16), the state holds (10, 36)")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    for name, value in model.state_dict().items():  # nothing was copied
        np.testing.assert_array_equal(value, before[name])


def test_unexpected_keys_are_named_and_long_lists_are_shortened(tmp_path):
    big = cl.Sequential(*[cl.Linear(2, 2) for _ in range(8)])
    cl.save_weights(big, tmp_path / "big.npz")
    with pytest.raises(KeyError, match=re.escape(
            "  unexpected keys (in the state, not in the model): ['1.weight', '1.bias', '2.weight', "
            "'2.bias', '3.weight', '3.bias', '4.weight', '4.bias', '5.weight', '5.bias', … and 4 more]")):
        cl.load_weights(cl.Sequential(cl.Linear(2, 2)), tmp_path / "big.npz")
    # strict=False loads what fits and ignores the rest, as torch does
    model = cl.load_weights(cl.Sequential(cl.Linear(2, 2)), tmp_path / "big.npz", strict=False)
    np.testing.assert_array_equal(model[0].weight.data, big[0].weight.data)
