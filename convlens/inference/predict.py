"""``cl.predict(model, inputs)``: the top classes, with probabilities, for new inputs.

    model = cl.load("digits.convlens")            # or a run folder
    p = cl.predict(model, "my_digit.png", top_k=3)
    p.label, p.top        # '7', [('7', 0.981), ('1', 0.012), ('9', 0.003)]
    p.steps               # ['resized from 400×400 to 28×28', 'inverted: …', …]

Inputs are converted the way the model's training data was (see
:mod:`convlens.inference.preprocess` and ``model.info.preprocessing``): picture files and
Pillow images for image models, ``.npy`` / CSV signals for 1-D models, text for text models.
An array of the model's input shape (with or without the batch axis) is taken as data of the
training set's kind and range: it is only normalized as the training data was
(``preprocess=False``: used as it is).

One input (a path, an image, a string, one array) gives one :class:`Prediction`; a list, a
batch array or a folder gives a list. For a model built in Python (no ``model.info.input_shape``)
an array is one example or a batch by the number of axes its first layer takes: ``(C, H, W)`` or
``(N, C, H, W)`` for a ``Conv2d``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from convlens.inference.preprocess import (
    MAX_PIXELS,
    InputError,
    normalize,
    prepare_image,
    prepare_signal,
    prepare_text,
    read_signals,
    read_texts,
)
from convlens.io.model_info import ModelInfo, Preprocessing
from convlens.layers.module import Module


@dataclass
class Prediction:
    """The model's answer for one input.

    Attributes:
        source: the file (``file:line`` for a line of a file), or ``"input k"``.
        top: ``(class name, probability)`` pairs, most likely first (``top_k`` of them).
        indices: the class index of each entry of ``top``.
        probabilities: the probability of every class (``None`` for regression).
        values: the model's outputs for a regression model (``None`` otherwise).
        steps: what was done to the input before the model saw it, in words.
    """

    source: str
    top: list[tuple[str, float]] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    probabilities: np.ndarray | None = None
    values: np.ndarray | None = None
    steps: list[str] = field(default_factory=list)

    @property
    def label(self) -> str | None:
        """The most likely class (``None`` for regression)."""
        return self.top[0][0] if self.top else None

    def _repr_html_(self) -> str:
        """The top classes and their probabilities as an HTML table, with what was done to the
        input below it: Jupyter shows this when a prediction is a cell's value."""
        from convlens.notebook import html_table

        if self.values is not None:
            rows = [[str(i), f"{v:.6g}"] for i, v in enumerate(np.ravel(self.values))]
            return html_table(["output", "value"], rows, self.source, self.steps, numeric={1})
        rows = [[name, str(index), f"{prob:.2%}"] for (name, prob), index in zip(self.top, self.indices)]
        return html_table(["class", "index", "probability"], rows, f"{self.source}: {self.label}",
                          self.steps, numeric={1, 2})

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": self.source}
        if self.values is not None:
            data["values"] = self.values.tolist()
        else:
            data["top"] = [{"class": name, "index": index, "probability": prob}
                           for (name, prob), index in zip(self.top, self.indices)]
        data["preprocessing"] = list(self.steps)
        return data


def predict(model: Module, inputs: Any, top_k: int = 5, preprocess: bool = True,
            max_pixels: int = MAX_PIXELS) -> Prediction | list[Prediction]:
    """Predict the classes of ``inputs`` (see the module docstring).

    Args:
        model: a trained model; ``model.info`` (set by ``cl.load``) says its classes, input
            shape and preprocessing.
        inputs: a path (picture, ``.npy``, ``.csv``, ``.txt``, or a folder of them), a Pillow
            image, a string of text (text models), an array, or a list of these.
        top_k: how many classes to report per input.
        preprocess: ``False`` feeds arrays to the model as they are.
        max_pixels: pictures with more pixels are refused without being decoded.

    Raises:
        InputError: an input that cannot be used (the message names it and says why).
    """
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"expected top_k a positive integer, received {top_k!r}")
    if not isinstance(model, Module):
        raise TypeError(f"predict expects a convlens model (a Module, e.g. from cl.load(path)), "
                        f"received {type(model).__name__} {model!r:.80}")
    single = _is_single(model, inputs)
    items = [inputs] if single else list(_as_list(inputs))
    predictions = []
    for k, item in enumerate(items):
        name = str(item) if isinstance(item, (str, os.PathLike)) and len(str(item)) < 200 else f"input {k}"
        try:
            for source, x, steps in prepare_inputs(model, item, f"input {k}", preprocess, max_pixels):
                predictions.append(run(model, x, source, steps, top_k))
        except InputError as error:
            raise InputError(f"{name} {error}") from None
    if single and len(predictions) == 1:
        return predictions[0]
    return predictions


def _info(model: Module) -> ModelInfo:
    info = getattr(model, "info", None)
    return info if isinstance(info, ModelInfo) else ModelInfo()


def model_kind(model: Module) -> str | None:
    """``"images"``, ``"signals"``, ``"tokens"`` or ``"volumes"``: what ``model`` reads, from
    ``model.info`` (``None`` when it does not say)."""
    info = _info(model)
    if info.preprocessing.kind:
        return info.preprocessing.kind
    if info.preprocessing.vocabulary or (info.input_dtype or "").startswith("int"):
        return "tokens"
    if info.input_shape is not None:
        return {2: "signals", 3: "images", 4: "volumes"}.get(len(info.input_shape))
    return None


def _is_single(model: Module, inputs: Any) -> bool:
    if isinstance(inputs, (str, os.PathLike)):
        return not Path(inputs).is_dir()
    if isinstance(inputs, np.ndarray):
        shape = _info(model).input_shape
        if shape is None:
            return _array_is_single(model, inputs)
        # a batch has one axis more than one input; anything else is one input (checked later)
        return inputs.ndim != len(shape) + 1 or _is_pixels(inputs) and len(shape) == 3
    return not isinstance(inputs, (list, tuple))


def _array_is_single(model: Module, x: np.ndarray) -> bool:
    """One example or a batch, for a model that does not record its input shape (built in
    Python): read from the number of axes its first layer takes, batch axis included (4 for a
    ``Conv2d``); one example when the first layer does not say."""
    from convlens.inspect.summary import _first_layer, input_rank

    rank = input_rank(model)
    if rank is None or x.ndim == rank - 1:
        return True
    if x.ndim == rank:
        return False
    first = _first_layer(model)
    raise InputError(
        f"the array has shape {x.shape} ({x.ndim}-D); the model starts with {type(first).__name__}, "
        f"which takes {first.input_layout}: expected {rank - 1} axes for one example or {rank} "
        f"for a batch (N first)")


def _is_pixels(x: np.ndarray) -> bool:
    """An 8-bit picture as an array: (H, W) or (H, W, C)."""
    return x.dtype == np.uint8 and x.ndim in (2, 3)


def _as_list(inputs: Any) -> Iterator[Any]:
    if isinstance(inputs, (str, os.PathLike)):
        yield from input_files([inputs])
    elif isinstance(inputs, np.ndarray):
        yield from inputs  # a batch
    else:
        yield from inputs


def input_files(paths: list[Any]) -> Iterator[Path]:
    """Each path, with folders replaced by the files inside them (sorted, hidden ones skipped)."""
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            for inner in sorted(path.rglob("*")):
                relative = inner.relative_to(path).parts
                if inner.is_file() and not any(part.startswith(".") for part in relative):
                    yield inner
        else:
            yield path


def prepare_inputs(model: Module, item: Any, name: str, preprocess: bool = True,
                   max_pixels: int = MAX_PIXELS) -> list[tuple[str, np.ndarray, list[str]]]:
    """``(source, model input without the batch axis, steps)`` for each input ``item`` holds (a
    text or CSV file holds one per line). Raises :class:`InputError`."""
    info = _info(model)
    pre, shape, kind = info.preprocessing, info.input_shape, model_kind(model)
    if isinstance(item, np.ndarray) and not (_is_pixels(item) and kind == "images"):
        return [(name, *_prepare_array(item, pre, shape, preprocess))]
    if kind == "tokens":
        if isinstance(item, (str, os.PathLike)) and Path(item).is_file():
            texts = read_texts(item)
        elif isinstance(item, str):
            texts = [(name, item)]
        else:
            raise InputError(f"a text model takes text or a text file, received {type(item).__name__}")
        return [(source, *prepare_text(text, pre)) for source, text in texts]
    if shape is None:
        raise InputError("the model does not record its input shape (model.info.input_shape): load it "
                         "from a model file or run folder, or save it with cl.save(model, path, dataset=…)")
    if kind == "signals":
        return [(source, *prepare_signal(values, pre, shape)) for source, values in read_signals(item)]
    source = str(item) if isinstance(item, (str, os.PathLike)) else name
    if isinstance(item, np.ndarray):  # uint8 pixels (H, W) or (H, W, C)
        from PIL import Image

        item = Image.fromarray(item)
    return [(source, *prepare_image(item, pre, shape, max_pixels, info.dataset))]


def _prepare_array(x: np.ndarray, pre: Preprocessing, shape: tuple[int, ...] | None,
                   preprocess: bool) -> tuple[np.ndarray, list[str]]:
    if shape is not None and x.shape != tuple(shape):
        raise InputError(f"has shape {x.shape}; the model takes {tuple(shape)} (without the batch axis)")
    if not preprocess or np.issubdtype(x.dtype, np.integer) and pre.kind == "tokens":
        return x, []
    steps: list[str] = []
    return normalize(x, pre, steps), steps


def run(model: Module, x: np.ndarray, source: str, steps: list[str], top_k: int) -> Prediction:
    """The model's :class:`Prediction` for one prepared input."""
    from convlens.functional.engine import no_grad
    from convlens.layers import LogSoftmax, Softmax

    info = _info(model)
    dtype = next((p.data.dtype for p in model.parameters()), np.dtype(np.float32))
    batch = x[None] if np.issubdtype(x.dtype, np.integer) else x[None].astype(dtype, copy=False)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = np.asarray(model(batch), dtype=np.float64)[0]
    except ValueError as error:
        raise InputError(f"does not fit the model: it was taken as one example of shape {x.shape} "
                         f"and given to the model as a batch of one, {batch.shape}: {error}") from None
    finally:
        model.train(was_training)
    if info.task == "regression":
        return Prediction(source, values=out, steps=steps)
    if info.task == "binary" or out.size == 1:
        p = 1.0 / (1.0 + np.exp(-out.reshape(-1)[0]))
        probabilities = np.array([1.0 - p, p])
    else:
        last = _last_layer(model)
        if isinstance(last, LogSoftmax):
            probabilities = np.exp(out)
        elif isinstance(last, Softmax):
            probabilities = out
        else:
            shifted = np.exp(out - out.max())
            probabilities = shifted / shifted.sum()
    names = list(info.class_names) if len(info.class_names) == probabilities.size else \
        [str(k) for k in range(probabilities.size)]
    order = np.argsort(-probabilities, kind="stable")[:top_k]
    return Prediction(source, top=[(names[k], float(probabilities[k])) for k in order],
                      indices=[int(k) for k in order], probabilities=probabilities, steps=steps)


def _last_layer(model: Module) -> Module:
    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    return leaves[-1] if leaves else model
