"""What a saved model knows about itself: ``model.info``, a :class:`ModelInfo`.

A model file (:mod:`convlens.io.model_file`) keeps, beside the architecture and the weights,
what a person needs to use the model later: its classes, the shape and dtype of one input, how
the training data was prepared (:class:`Preprocessing`: channels, size, value range, the
normalization mean and std, the polarity of the pictures, the tokenization of text), the data
set it was trained on and the test metrics it reached. ``cl.load`` puts it on the model as
``model.info``; ``cl.save`` writes it back, with the fields given as keyword arguments::

    cl.save(model, "digits.convlens", dataset=ds, metrics={"test_accuracy": 0.977})
    model = cl.load("digits.convlens")
    model.info.class_names, model.info.preprocessing.mean
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

POLARITIES = ("light-on-dark", "dark-on-light")
# data sets whose digits are size-normalized into 20×20 and centred by mass in 28×28
MNIST_FRAMED = ("mnist", "mnist-5k")
# the polarity of the pictures of convlens's own image data sets (for run folders that do not
# record it; a Dataset is measured by picture_polarity)
KNOWN_POLARITY = {"mnist": "light-on-dark", "mnist-5k": "light-on-dark", "fashion-mnist": "light-on-dark"}


@dataclass
class Preprocessing:
    """How raw inputs became the arrays the model was trained on.

    Attributes:
        kind: ``"images"``, ``"signals"``, ``"volumes"`` or ``"tokens"``.
        channels: C of one input (1 for grayscale pictures, 3 for colour).
        size: the spatial size, ``(H, W)`` for images, ``(L,)`` for signals.
        value_range: the range of the input values before normalization (``(0.0, 1.0)``:
            pixels divided by 255).
        mean, std: per-channel normalization, ``x ← (x − mean) / std``, or ``None``.
        polarity: ``"light-on-dark"`` (MNIST: white strokes on black), ``"dark-on-light"``
            or ``None`` (photos: no rule).
        framing: ``"mnist"``: each digit was cropped to its strokes, fitted into 20×20 and
            centred by its centre of mass in 28×28, as the MNIST digits are; ``None``: the
            whole picture was resized.
        tokens, lowercase, length, vocabulary: text models: ``"chars"`` or ``"words"``, whether
            the text was lowercased, the number of token ids per example, and the token of
            each id (``vocabulary[0]`` pads, ``vocabulary[1]`` stands for unknown tokens).
    """

    kind: str | None = None
    channels: int | None = None
    size: tuple[int, ...] | None = None
    value_range: tuple[float, float] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    polarity: str | None = None
    framing: str | None = None
    tokens: str | None = None
    lowercase: bool = False
    length: int | None = None
    vocabulary: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("size", "value_range", "mean", "std"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, tuple(value))
        self.vocabulary = tuple(self.vocabulary)
        if self.polarity is not None and self.polarity not in POLARITIES:
            raise ValueError(f"expected polarity in {POLARITIES} or None, received {self.polarity!r}")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class ModelInfo:
    """The metadata of a model: see the module docstring.

    Attributes:
        name: what the model is (a zoo name such as ``"lenet5"``, or a definition's name).
        task: ``"classification"``, ``"binary"`` or ``"regression"``.
        class_names: the name of each output class (``class_names[k]`` names output ``k``).
        input_shape: one input without the batch axis, ``(C, H, W)``, ``(C, L)`` or ``(L,)``.
        input_dtype: ``"float32"``, or ``"int64"`` for token ids.
        preprocessing: how raw inputs are turned into such arrays (:class:`Preprocessing`).
        dataset: the data set's name; ``dataset_description`` says where it comes from.
        metrics: test results, e.g. ``{"test_accuracy": 0.977, "test_loss": 0.08}``.
        convlens_version, format_version: which convlens wrote the file, in which format
            (filled in by ``cl.save``).
        created: when the file was written (ISO 8601, filled in by ``cl.save``).
        notes: free text.
    """

    name: str | None = None
    task: str = "classification"
    class_names: tuple[str, ...] = ()
    input_shape: tuple[int, ...] | None = None
    input_dtype: str | None = None
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    dataset: str | None = None
    dataset_description: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    convlens_version: str | None = None
    format_version: int | None = None
    created: str | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        self.class_names = tuple(str(c) for c in self.class_names)
        if self.input_shape is not None:
            self.input_shape = tuple(int(n) for n in self.input_shape)
        if isinstance(self.preprocessing, dict):
            self.preprocessing = Preprocessing.from_dict(self.preprocessing)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        data["preprocessing"] = self.preprocessing.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        """Read :meth:`to_dict`'s output; unknown keys (from a later minor version) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def updated(self, **changes: Any) -> ModelInfo:
        """A copy with ``changes``; ``dataset=`` may be a :class:`convlens.data.Dataset`, whose
        classes, input shape and preprocessing then fill the fields not given (see
        :func:`describe_dataset`); ``normalization={"mean": …, "std": …}`` sets the
        preprocessing's normalization."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)} - {"normalization"})
        if unknown:
            fields = ", ".join(f.name for f in dataclasses.fields(self))
            raise TypeError(f"unknown model metadata {', '.join(map(repr, unknown))}; "
                            f"expected some of: {fields}, normalization")
        normalization = changes.pop("normalization", None)
        dataset = changes.get("dataset")
        if dataset is not None and not isinstance(dataset, str):
            derived = describe_dataset(dataset, normalization)
            changes = {**derived, **changes, "dataset": derived["dataset"]}
        info = dataclasses.replace(self, **changes)
        if normalization:
            info.preprocessing = dataclasses.replace(
                info.preprocessing, mean=tuple(np.ravel(normalization["mean"]).tolist()),
                std=tuple(np.ravel(normalization["std"]).tolist()))
        return info


def describe_dataset(dataset: Any, normalization: dict[str, Any] | None = None) -> dict[str, Any]:
    """The :class:`ModelInfo` fields a :class:`convlens.data.Dataset` tells: classes, task, input
    shape and dtype, and its :class:`Preprocessing` (value range, polarity, framing, tokens).

    With the ``normalization`` the model was trained with, the dataset may be given before or
    after it (``convlens train --normalize`` keeps the normalized copy): the value range and
    the polarity are measured on the values before normalization either way.
    """
    x = dataset.x_train
    kind = dataset.kind
    pre = Preprocessing(kind=kind)
    if kind == "tokens":
        vocabulary = tuple(dataset.vocabulary)
        words = [t for t in vocabulary[2:]]
        letters = "".join(words)
        pre = dataclasses.replace(
            pre, tokens="chars" if all(len(t) == 1 for t in words) else "words",
            lowercase=bool(letters) and letters == letters.lower() and letters != letters.upper(),
            length=int(x.shape[1]), vocabulary=vocabulary)
    else:
        undo = _undo_normalization(x, normalization)
        axes = (0, *range(2, x.ndim))
        low, high = ((float(undo(x.min(axis=axes, keepdims=True)).min()),
                      float(undo(x.max(axis=axes, keepdims=True)).max())) if x.size else (0.0, 1.0))
        in_unit = low >= -1e-6 and high <= 1.0 + 1e-6
        pre = dataclasses.replace(
            pre, channels=int(x.shape[1]), size=tuple(int(n) for n in x.shape[2:]),
            value_range=(0.0, 1.0) if in_unit else (low, high))
        if kind == "images":
            pre.polarity = picture_polarity(undo(x[:500]))
            if dataset.name in MNIST_FRAMED and x.shape[1:] == (1, 28, 28):
                pre.framing = "mnist"
    return {
        "task": dataset.task,
        "class_names": tuple(dataset.class_names),
        "input_shape": tuple(dataset.input_shape),
        "input_dtype": str(x.dtype),
        "preprocessing": pre,
        "dataset": dataset.name,
        "dataset_description": dataset.description,
    }


def _undo_normalization(x: np.ndarray, normalization: dict[str, Any] | None) -> Any:
    """``f(values)`` giving the values before ``normalization`` when ``x`` looks normalized with
    it (per-channel mean and std near 0 and 1 rather than near its statistics), else identity."""
    if not normalization or not x.size:
        return lambda values: values
    mean = np.ravel(np.asarray(normalization["mean"], dtype=np.float64))
    std = np.ravel(np.asarray(normalization["std"], dtype=np.float64))
    std = np.where(std > 0, std, 1.0)
    sample = np.asarray(x[:1000], dtype=np.float64)
    axes = (0, *range(2, x.ndim))
    m, s = sample.mean(axis=axes), sample.std(axis=axes)
    if np.abs(m).sum() + np.abs(s - 1).sum() >= np.abs(m - mean).sum() + np.abs(s - std).sum():
        return lambda values: values  # the raw values, before normalization
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return lambda values: np.asarray(values, dtype=np.float64) * std.reshape(shape) + mean.reshape(shape)


def picture_polarity(images: np.ndarray, sample: int = 500) -> str | None:
    """``"light-on-dark"`` when nearly every picture (≥ 90 %) has a dark border (the
    background), ``"dark-on-light"`` when nearly every one has a light border, else ``None``.

    ``images`` is (N, C, H, W) in [0, 1]; the border is the outermost ring of pixels.
    """
    x = np.asarray(images[:sample], dtype=np.float64).mean(axis=1)  # (N, H, W) brightness
    if x.ndim != 3 or min(x.shape[1:]) < 3:
        return None
    border = np.concatenate([x[:, 0, :], x[:, -1, :], x[:, :, 0], x[:, :, -1]], axis=1).mean(axis=1)
    if np.mean(border < 0.25) >= 0.9:
        return "light-on-dark"
    if np.mean(border > 0.75) >= 0.9:
        return "dark-on-light"
    return None


def _plain(value: Any) -> Any:
    """Tuples to lists and NumPy scalars to Python numbers, for JSON."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
