"""The models one explorer serves: opened once at start, by name, never by a request's path.

:func:`open_model` is the only door: a zoo name (``lenet5``), a run folder written by
``convlens train`` (opened by ``cl.load`` as any file is: its ``model.convlens``, its
``weights.npz``, or its checkpoint while it still trains), or any model file
:func:`convlens.io.formats.load` reads. Each becomes a :class:`ServedModel`:
the model, the shape of one input, the class names, and (for a run) its folder.

Requests run in a thread pool, and a forward pass with hooks or a backward pass changes a
module's caches, so each request borrows a copy of the model of its own from a small pool
(:meth:`ServedModel.borrow`): copies are made only when every existing one is busy, at most
:data:`POOL_SIZE` of them; a slow request holds one copy and the others keep working.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from convlens.layers.module import Module

# Zoo models: the input they are built for and the dataset their examples come from.
ZOO_INPUTS: dict[str, tuple[tuple[int, ...], str]] = {
    "cnn1d": ((1, 40), "mnist1d"),
    "cnn3d": ((1, 16, 20, 20), "moving-mnist-5k"),
}
DEFAULT_INPUT: tuple[tuple[int, ...], str] = ((1, 28, 28), "mnist-5k")
# A model file that does not record its input: a size per number of spatial axes
GUESSED_SPATIAL = {1: (40,), 2: (28, 28), 3: (16, 20, 20)}
# Copies of one model that requests may hold at once (the server's thread pool is larger: a
# request beyond these waits for a copy to come back)
POOL_SIZE = 4


class ModelOpenError(ValueError):
    """A name that is neither a zoo model, a run folder nor a model file convlens reads."""


@dataclass
class ServedModel:
    """One model the explorer serves.

    Attributes:
        name: the name the page and the API use (``lenet5``, the run folder's name, ...).
        kind: ``"zoo"``, ``"run"`` or ``"file"``.
        model: the model as opened (each request works on a copy: :meth:`borrow`).
        input_shape: one example without the batch axis, ``(C, *S)``.
        class_names: one name per output (``"0"``, ``"1"``, … when unknown).
        dataset: the dataset its examples come from (``None``: no examples).
        run_dir: the run folder of a ``run``.
        config: the run's ``config.json`` (empty otherwise).
        info: what the model knows about itself (:class:`convlens.io.model_info.ModelInfo`):
            above all its ``preprocessing``, which :mod:`convlens.inference.preprocess` repeats
            on every picture or signal the page sends.
    """

    name: str
    kind: str
    model: Module
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    dataset: str | None = None
    run_dir: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    info: Any = None
    pool_size: int = POOL_SIZE
    _idle: list[tuple[int, Module]] = field(default_factory=list, repr=False)
    _made: int = 0
    _lock: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _version: int = 0
    _weights_stamp: float | None = None

    @property
    def spatial_dims(self) -> int:
        return len(self.input_shape) - 1

    @contextmanager
    def borrow(self) -> Iterator[Module]:
        """A copy of the model that no other request uses until the block ends. An idle copy
        of the current weights is reused; a new one is made while fewer than
        :attr:`pool_size` exist; otherwise the request waits for one to come back. Copies of
        weights older than :meth:`refresh` loaded are dropped."""
        with self._lock:
            while True:
                stale = [c for c in self._idle if c[0] != self._version]
                self._idle = [c for c in self._idle if c[0] == self._version]
                self._made -= len(stale)
                if self._idle:
                    held = self._idle.pop()
                    break
                if self._made < self.pool_size:
                    self._made += 1
                    held = (self._version, copy.deepcopy(self.model))
                    break
                self._lock.wait()
        try:
            yield held[1]
        finally:
            with self._lock:
                if held[0] == self._version:
                    self._idle.append(held)
                else:
                    self._made -= 1
                self._lock.notify()

    @property
    def copies(self) -> int:
        """How many copies of the model exist now (idle or borrowed)."""
        return self._made

    @cached_property
    def data(self) -> Any:
        """The dataset of the examples (loaded on first use; ``None`` if there is none)."""
        if self.dataset is None:
            return None
        if self.kind == "run" and self.config:     # cut to the run's limits
            from convlens.viz.run_folder import load_run_dataset

            return load_run_dataset(self.config)
        from convlens.data import load_dataset

        return load_dataset(self.dataset)

    def __post_init__(self) -> None:
        if self.info is None:  # what a run of this model on its data set would record
            from convlens.io.model_info import ModelInfo
            from convlens.io.run_folder import info_from_run_config

            config = {"dataset": self.dataset, "input_shape": list(self.input_shape)}
            self.info = (info_from_run_config(config, {}) if self.dataset
                         else ModelInfo(input_shape=self.input_shape))

    @property
    def preprocessing(self) -> Any:
        """How raw pictures and signals become this model's inputs (a ``Preprocessing``)."""
        return self.info.preprocessing

    def refresh(self) -> bool:
        """A run still training: load the newest checkpoint's weights when they changed.
        Returns whether the weights changed."""
        if self.run_dir is None:
            return False
        path = _latest_weights(self.run_dir)
        if path is None:
            return False
        stamp = path.stat().st_mtime
        if stamp == self._weights_stamp:
            return False
        try:
            state = _read_weights(path)
        except (OSError, ValueError):      # being replaced right now: the next call reads it
            return False
        with self._lock:
            self.model.load_state_dict(state)
            self.model.eval()
            self._weights_stamp = stamp
            self._version += 1
            self._lock.notify_all()        # a waiting request may now make a fresh copy
        return True


def _latest_weights(run_dir: Path) -> Path | None:
    """The newer of ``weights.npz`` and ``checkpoint.npz`` (``None`` if neither exists)."""
    candidates = [p for p in (run_dir / "weights.npz", run_dir / "checkpoint.npz") if p.is_file()]
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def _read_weights(path: Path) -> dict[str, np.ndarray]:
    if path.name == "weights.npz":
        from convlens.io import load_arrays

        return load_arrays(path)
    from convlens.io.run_folder import checkpoint_weights

    return checkpoint_weights(path)


def _class_names(count: int, names: Any = None) -> tuple[str, ...]:
    if names is not None and len(names) == count:
        return tuple(str(n) for n in names)
    return tuple(str(k) for k in range(count))


def _output_count(model: Module, input_shape: tuple[int, ...]) -> int:
    from convlens.functional.engine import no_grad

    probe = copy.deepcopy(model).eval()
    try:
        with no_grad():
            y = probe(np.zeros((1, *input_shape), dtype=_dtype(model)))
    except ValueError as err:
        raise ModelOpenError(f"the model does not take inputs of shape {input_shape}: {err}") from None
    if y.ndim != 2:
        raise ModelOpenError(
            f"the explorer shows classifiers: expected the model to output class scores (N, K), "
            f"received shape {y.shape} for an input {input_shape}")
    return int(y.shape[1])


def _dtype(model: Module) -> Any:
    params = model.parameters()
    return params[0].dtype if params else np.float32


def _check_not_tokens(model: Module, name: str) -> None:
    from convlens.layers.embedding import Embedding

    if any(isinstance(m, Embedding) for m in model.modules()):
        raise ModelOpenError(f"{name} reads token ids (it starts with an Embedding); the explorer "
                             "shows models of images, signals and volumes")


def _from_zoo(name: str) -> ServedModel:
    import convlens as cl

    shape, dataset = ZOO_INPUTS.get(name, DEFAULT_INPUT)
    model = cl.models.get_model(name)
    _check_not_tokens(model, name)
    model.eval()
    count = _output_count(model, shape)
    return ServedModel(name, "zoo", model, shape, _class_names(count), dataset)


def _from_run(path: Path) -> ServedModel:
    """A run folder, opened by :func:`convlens.io.formats.load` as ``cl.load`` opens it (its
    model file, its weights, or the checkpoint of a run still training); the explorer adds the
    folder, for the run's record, its examples and the newer weights of later epochs."""
    from convlens.viz.run_folder import RunFolderError, read_config

    model = _load(path)
    try:
        config = read_config(path)
    except RunFolderError:
        config = {}                     # a folder with only model.convlens
    info = model.info
    shape = tuple(int(n) for n in info.input_shape or config.get("input_shape") or
                  ZOO_INPUTS.get(config.get("model"), DEFAULT_INPUT)[0])
    count = _output_count(model, shape)
    names = info.class_names or config.get("class_names")
    if not names and (config.get("dataset") or info.dataset) in ("mnist-5k", "mnist", "mnist1d"):
        names = [str(k) for k in range(10)]
    dataset = config.get("dataset") or (info.dataset if _knows_dataset(info) else None)
    served = ServedModel(path.resolve().name, "run", model, shape, _class_names(count, names), dataset,
                         path, config, info)
    served.refresh()
    return served


def _load(path: Path) -> Module:
    """``cl.load(path)`` in eval mode, with a :class:`ModelOpenError` for what cannot be read."""
    from convlens.io import formats

    try:
        model = formats.load(path)
    except (formats.FormatError, formats.MissingExtraError, OSError) as err:
        raise ModelOpenError(str(err)) from None
    _check_not_tokens(model, str(path))
    return model.eval()


def _guess_input_shape(model: Module) -> tuple[int, ...]:
    info = getattr(model, "info", None)
    recorded = getattr(info, "input_shape", None) or getattr(model, "input_shape", None)
    if recorded is not None:
        return tuple(int(n) for n in recorded)
    from convlens.viz.cam import conv_layers

    convs = conv_layers(model)
    if not convs:
        raise ModelOpenError("the model has no convolution and does not record its input shape; "
                             "the explorer cannot tell what one input looks like")
    first = convs[0][1]
    return (int(first.in_channels), *GUESSED_SPATIAL[first.ndim])


def _from_file(path: Path) -> ServedModel:
    model = _load(path)
    shape = _guess_input_shape(model)
    count = _output_count(model, shape)
    info = getattr(model, "info", None)
    return ServedModel(path.name, "file", model, shape,
                       _class_names(count, getattr(info, "class_names", None)),
                       getattr(info, "dataset", None) if _knows_dataset(info) else None, info=info)


def _knows_dataset(info: Any) -> bool:
    """Whether a model file names a data set convlens can load (its examples)."""
    from convlens.data import available_datasets

    return getattr(info, "dataset", None) in available_datasets()


def open_model(path_or_name: str | os.PathLike[str]) -> ServedModel:
    """Open one model for the explorer: a zoo name, a run folder, or a model file.

    Raises:
        ModelOpenError: the message says what was expected and what was found.
    """
    import convlens as cl

    text = str(path_or_name)
    path = Path(text)
    if path.is_dir() and any((path / name).is_file() for name in ("config.json", "model.convlens")):
        return _from_run(path)
    if path.exists():
        return _from_file(path)
    if text in cl.models.available_models():
        return _from_zoo(text)
    raise ModelOpenError(
        f"{text!r} is neither a file, a run folder (with config.json) nor a zoo model; zoo "
        f"models: {', '.join(cl.models.available_models())}")


def open_models(items: list[str]) -> dict[str, ServedModel]:
    """Open each item; two with the same name get a suffix (``run``, ``run-2``)."""
    served: dict[str, ServedModel] = {}
    for item in items:
        model = open_model(item)
        name, k = model.name, 2
        while name in served:
            name, k = f"{model.name}-{k}", k + 1
        model.name = name
        served[name] = model
    return served
