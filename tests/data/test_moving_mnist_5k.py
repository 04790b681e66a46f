"""moving-mnist-5k: clips of mnist-5k digits moving in 8 directions on a wrapping canvas."""

import numpy as np
import pytest

from convlens.data import load_dataset
from convlens.data.moving_mnist_5k import DIRECTIONS, make_clips, shrink_digits

T, H = 16, 20


@pytest.fixture(scope="module")
def ds():
    return load_dataset("moving-mnist-5k")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist-5k")


def circular_positions(clips):
    """``(N, T, 2)``: each frame's centre of mass on the torus, as (row, column) phases in pixels.

    The first Fourier coefficient of the ink's row (column) profile turns by exactly
    ``2π·shift/size`` when the frame is rolled by ``shift``, wherever the digit wraps.
    """
    x = clips[:, 0].astype(np.float64)  # (N, T, H, W)
    size = x.shape[-1]
    phase = np.exp(2j * np.pi * np.arange(size) / size)
    rows = np.angle(x.sum(axis=3) @ phase)
    cols = np.angle(x.sum(axis=2) @ phase)
    return np.stack([rows, cols], axis=-1) * size / (2 * np.pi)


def mean_velocity(clips):
    """``(N, 2)``: the (row, column) pixels moved per frame, from the centres of mass."""
    pos = circular_positions(clips)
    size = clips.shape[-1]
    step = (np.diff(pos, axis=1) + size / 2) % size - size / 2  # unwrap across the seam
    return step.mean(axis=1)


def direction_of(velocity):
    """The direction index of a (row, column) velocity: 45°·k, counter-clockwise from 'right'."""
    angle = np.degrees(np.arctan2(-velocity[:, 0], velocity[:, 1]))  # rows grow downwards
    return np.round(angle / 45).astype(np.int64) % 8


def test_shapes_dtypes_range_and_names(ds):
    assert ds.x_train.shape == (4000, 1, T, H, H) and ds.x_test.shape == (1000, 1, T, H, H)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() == 0.0 and ds.x_train.max() <= 1.0
    assert ds.kind == "volumes" and ds.input_shape == (1, T, H, H) and ds.task == "classification"
    assert ds.class_names == ("right", "up-right", "up", "up-left", "left", "down-left", "down", "down-right")
    assert ds.summary() == "moving-mnist-5k: 4000 train / 1000 test volumes of 1x16x20x20, 8 classes"


def test_labels_are_balanced_per_direction_and_per_digit(ds, digits):
    np.testing.assert_array_equal(np.bincount(ds.y_train, minlength=8), np.full(8, 500))
    np.testing.assert_array_equal(np.bincount(ds.y_test, minlength=8), np.full(8, 125))
    train_counts, test_counts = np.zeros((10, 8), np.int64), np.zeros((10, 8), np.int64)
    np.add.at(train_counts, (digits.y_train, ds.y_train), 1)
    np.add.at(test_counts, (digits.y_test, ds.y_test), 1)
    np.testing.assert_array_equal(train_counts, np.full((10, 8), 50))
    assert test_counts.min() >= 12 and test_counts.max() <= 13  # 100 test digits each: 12.5 a direction
    assert np.bincount(ds.y_train[:200], minlength=8).min() >= 10  # a prefix is a fair sample


def test_the_label_is_the_direction_the_centre_of_mass_moves(ds):
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        velocity = mean_velocity(x)
        expected = np.stack([-np.sin(np.radians(45 * y)), np.cos(np.radians(45 * y))], axis=1).round()
        np.testing.assert_allclose(velocity, expected, atol=1e-6)  # 1 px per frame on each axis moved
        np.testing.assert_array_equal(direction_of(velocity), y)


def test_each_frame_is_the_previous_one_rolled_one_step(ds):
    x, y = ds.x_test[:50, 0], ds.y_test[:50]
    steps = {"right": (0, 1), "up": (-1, 0), "left": (0, -1), "down": (1, 0)}
    for clip, label in zip(x, y):
        name = DIRECTIONS[label]
        shift = tuple(sum(steps[part][i] for part in name.split("-")) for i in (0, 1))
        np.testing.assert_array_equal(clip[1:], np.roll(clip[:-1], shift, axis=(1, 2)))


def test_reversing_time_gives_the_opposite_direction(ds):
    x, y = ds.x_test, ds.y_test
    reversed_clips = x[:, :, ::-1]
    np.testing.assert_array_equal(direction_of(mean_velocity(reversed_clips)), (y + 4) % 8)
    # the same frames in the other order: the set of frames says nothing about the direction
    np.testing.assert_array_equal(np.sort(reversed_clips, axis=2), np.sort(x, axis=2))


def test_no_single_frame_tells_the_direction(ds):
    # Where the digit is in a given frame does not depend on the direction: the positions of
    # each direction's clips spread evenly round the torus (in a bounded canvas a digit moving
    # right would have to start on the left, and the first frame would give the label away).
    positions = circular_positions(ds.x_train)
    for t in (0, T - 1):
        phasors = np.exp(2j * np.pi * positions[:, t] / H)  # (N, 2)
        for k in range(8):
            spread = np.abs(phasors[ds.y_train == k].mean(axis=0))
            assert spread.max() < 0.15, (t, DIRECTIONS[k], spread)  # 1 if all at one place


def test_clips_are_made_from_the_digits_of_their_own_split(ds, digits):
    def signature(values):  # the frame's pixel values as a multiset: the same for any position
        flat = np.sort(values.reshape(len(values), -1), axis=1)[:, ::-1]
        return flat[:, : 14 * 14]

    for x, source in ((ds.x_train, digits.x_train), (ds.x_test, digits.x_test)):
        np.testing.assert_array_equal(signature(x[:, 0, 0]), signature(shrink_digits(source[:, 0])))
    train = {row.tobytes() for row in signature(ds.x_train[:, 0, 0])}
    assert not any(row.tobytes() in train for row in signature(ds.x_test[:, 0, 0]))


def test_generation_is_deterministic(ds):
    np.random.seed(1)
    again = load_dataset("moving-mnist-5k")
    np.testing.assert_array_equal(again.x_train, ds.x_train)
    np.testing.assert_array_equal(again.y_test, ds.y_test)


def test_digit_target_labels_the_same_clips_with_the_digit(ds, digits):
    by_option = load_dataset("moving-mnist-5k", target="digit")
    by_name = load_dataset("moving-mnist-5k-digit")
    for other in (by_option, by_name):
        assert other.name == "moving-mnist-5k-digit" and other.class_names == tuple("0123456789")
        np.testing.assert_array_equal(other.x_test, ds.x_test)
        np.testing.assert_array_equal(other.y_train, digits.y_train)
        np.testing.assert_array_equal(other.y_test, digits.y_test)


def test_frames_and_size_options():
    small = load_dataset("moving-mnist-5k", frames=4, size=14)
    assert small.input_shape == (1, 4, 14, 14)
    np.testing.assert_array_equal(direction_of(mean_velocity(small.x_test)), small.y_test)


def test_make_clips_moves_and_wraps():
    dot = np.array([[[1.0]]], np.float32)  # a one-pixel digit
    up_left = DIRECTIONS.index("up-left")
    clip = make_clips(dot, np.array([up_left]), np.array([[1, 2]]), frames=3, size=4)
    assert clip.shape == (1, 1, 3, 4, 4)
    assert [tuple(np.argwhere(frame)[0]) for frame in clip[0, 0]] == [(1, 2), (0, 1), (3, 0)]


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"target": "colour"},
            r"moving-mnist-5k: expected target in \('direction', 'digit'\), received 'colour'",
        ),
        ({"frames": 1}, r"moving-mnist-5k: expected at least 2 frames \(motion needs two\), received 1"),
        ({"size": 10}, r"expected a canvas of at least 14 pixels \(the shrunk digit's size\), received 10"),
        ({"speed": 2}, r"dataset 'moving-mnist-5k' takes no option speed; it accepts: target, frames, size"),
    ],
)
def test_bad_options_are_reported(options, message):
    with pytest.raises(ValueError, match=message):
        load_dataset("moving-mnist-5k", **options)
