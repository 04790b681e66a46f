"""cl.predict with a trained digit model: real mnist-5k digits as PNG files, digits drawn dark on
light as in a paint program, and every kind of input."""

import numpy as np
import pytest
from PIL import Image
from trained_digits import digit_png, draw_digit, trained_digits_model

import convlens as cl
from convlens.data import load_dataset
from convlens.inference import InputError, Prediction


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return cl.load(trained_digits_model(tmp_path_factory))


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist-5k")


def test_real_test_digits_saved_as_png_get_the_model_s_prediction_and_are_right(model, digits, tmp_path):
    outputs = cl.training.predict(model, digits.x_test[:20])
    expected = np.exp(outputs - outputs.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    right = 0
    for i in range(20):
        p = cl.predict(model, digit_png(digits, i, tmp_path / f"test-{i}.png"), top_k=10)
        assert p.steps == ["used as it is: 28×28, grayscale, light-on-dark"]
        np.testing.assert_allclose(p.probabilities, expected[i], atol=1e-6)
        right += p.label == str(digits.y_test[i])
    assert right == int((expected.argmax(1) == digits.y_test[:20]).sum()) >= 17  # the model: 93 % on the test set
    first = cl.predict(model, tmp_path / "test-0.png")
    assert first.label == str(digits.y_test[0]) and first.top[0][1] > 0.9


@pytest.mark.parametrize("digit, mode, suffix", [("7", "RGB", "png"), ("4", "RGB", "jpg"), ("0", "L", "jpg"),
                                                 ("1", "RGBA", "png"), ("2", "RGB", "png")])
def test_a_digit_drawn_dark_on_light_in_a_paint_program_is_recognised(model, tmp_path, digit, mode, suffix):
    path = tmp_path / f"drawn-{digit}.{suffix}"
    draw_digit(digit, mode).save(path)
    p = cl.predict(model, path, top_k=3)
    assert p.label == digit, p.top
    assert p.top[0][1] > 0.8
    assert "inverted: the picture has a light background and the model was trained on light-on-dark pictures " \
           "(mnist-5k)" in p.steps or mode == "RGBA"
    assert any(s.startswith("cropped to the drawing") for s in p.steps)
    if mode == "RGBA":
        assert p.steps[0] == "transparent pixels filled with white (the drawing is dark)"
    elif mode == "RGB":
        assert p.steps[0] == "converted from colour to grayscale"


def test_inputs_as_paths_folders_images_and_arrays_agree(model, digits, tmp_path):
    folder = tmp_path / "digits"
    folder.mkdir()
    paths = [digit_png(digits, i, folder / f"{i}.png") for i in range(3)]
    (folder / ".hidden.png").write_bytes(b"")
    from_folder = cl.predict(model, folder)
    assert [p.source for p in from_folder] == [str(p) for p in paths]
    from_list = cl.predict(model, paths)
    from_images = cl.predict(model, [Image.open(p) for p in paths])
    from_uint8 = cl.predict(model, [np.asarray(Image.open(p)) for p in paths])
    from_batch = cl.predict(model, digits.x_test[:3])
    single = cl.predict(model, digits.x_test[0])
    assert isinstance(single, Prediction) and single.steps == []
    for group in (from_list, from_images, from_uint8, from_batch):
        assert [p.top for p in group] == [p.top for p in from_folder]
    assert len(from_folder[0].top) == 5 and from_folder[0].top == sorted(from_folder[0].top, key=lambda t: -t[1])
    assert abs(from_folder[0].probabilities.sum() - 1) < 1e-9


def test_errors_name_the_problem(model, tmp_path):
    with pytest.raises(InputError, match=r"has shape \(28, 28\); the model takes \(1, 28, 28\)"):
        cl.predict(model, np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match="expected top_k a positive integer, received 0"):
        cl.predict(model, np.zeros((1, 28, 28), np.float32), top_k=0)
    with pytest.raises(InputError, match=r"^\S*missing.png does not exist$"):
        cl.predict(model, tmp_path / "missing.png")
    bare = cl.models.get_model("lenet5")
    with pytest.raises(InputError, match=r"the model does not record its input shape \(model.info.input_shape\)"):
        cl.predict(bare, draw_digit("7"))


def test_a_model_with_normalization_applies_the_training_statistics(model, digits):
    normalized = cl.Sequential(*model.layers)
    normalized.info = model.info.updated(normalization={"mean": [0.25], "std": [0.5]})
    p = cl.predict(normalized, digits.x_test[0])
    assert p.steps == ["normalized with the training mean 0.25 and std 0.5"]
    direct = cl.training.predict(model, (digits.x_test[:1] - 0.25) / 0.5)[0]
    assert p.indices[0] == int(np.argmax(direct))


@pytest.mark.parametrize("digit", ["7", "1", "2", "4"])
def test_a_digit_drawn_with_a_thin_pen_gets_strokes_as_thick_as_mnist_s(model, tmp_path, digit):
    path = tmp_path / f"thin-{digit}.png"
    draw_digit(digit, width=3).save(path)
    p = cl.predict(model, path)
    assert p.label == digit, p.top
    assert "its strokes thickened from about 3 to " in p.steps[-1]
    thick = cl.predict(model, draw_digit(digit, width=28))
    assert "thickened" not in thick.steps[-1]


def _python_built_conv_model():
    cl.random.manual_seed(0)
    return cl.Sequential(cl.Conv2d(1, 4, 3), cl.ReLU(), cl.Flatten(), cl.Linear(4 * 6 * 6, 10))


def test_a_python_built_model_takes_a_batch_array_and_one_example():
    model = _python_built_conv_model()
    assert getattr(model, "info", None) is None or model.info.input_shape is None
    x = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    batch = cl.predict(model, x, top_k=10)
    assert isinstance(batch, list) and len(batch) == 5
    for k, p in enumerate(batch):
        one = cl.predict(model, x[k], top_k=10)
        assert isinstance(one, Prediction)
        np.testing.assert_allclose(p.probabilities, one.probabilities, rtol=1e-6)
    linear = cl.Sequential(cl.Linear(3, 2))
    assert isinstance(cl.predict(linear, np.ones(3)), Prediction)
    assert len(cl.predict(linear, np.ones((4, 3)))) == 4


def test_a_python_built_model_names_the_axes_it_expects_for_an_array_of_the_wrong_rank():
    model = _python_built_conv_model()
    with pytest.raises(InputError) as info:
        cl.predict(model, np.zeros((2, 3, 1, 8, 8), np.float32))
    message = str(info.value)
    assert "shape (2, 3, 1, 8, 8) (5-D)" in message and "Conv2d" in message
    assert "expected 3 axes for one example or 4 for a batch" in message
    assert "(N, C, H, W)" in message


def test_an_input_that_does_not_fit_says_it_was_given_as_a_batch_of_one():
    model = cl.Sequential(cl.ReLU(), cl.Conv2d(1, 2, 3))  # the first layer does not say its rank
    with pytest.raises(InputError, match=r"taken as one example of shape \(4, 1, 8, 8\) and given to "
                                         r"the model as a batch of one, \(1, 4, 1, 8, 8\)"):
        cl.predict(model, np.zeros((4, 1, 8, 8), np.float32))
