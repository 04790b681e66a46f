"""`Dataset`: a train/test pair of input arrays with their targets, and what the targets mean.

Inputs are channel-first arrays of any rank from 3 up, or integer token ids::

    (N, L)           tokens: int64 ids into ``vocabulary`` (words-lang, a text file), 0 = padding
    (N, C, L)        signals (mnist1d, a CSV of sequences)
    (N, C, H, W)     images (mnist, fashion-mnist, cifar10, an image folder)
    (N, C, D, H, W)  volumes (an .npz file)

Token ids are categories, not measurements: they are never normalized or augmented, and a
model reads them through an ``Embedding`` of ``len(vocabulary)`` rows (the ``text_cnn``).

Targets depend on the task:

==================  =====================================  ===========================
task                targets                                model outputs
==================  =====================================  ===========================
``classification``  ``(N,)`` int64 in ``[0, K)``           ``K`` class scores
``binary``          ``(N,)`` int64 in ``{0, 1}``            ``1`` logit (class 1 = yes)
``regression``      ``(N,)`` or ``(N, T)`` float32         ``T`` values (``1`` for 1-D)
==================  =====================================  ===========================

:attr:`Dataset.num_outputs` gives the right-hand column; the training side chooses the loss
(cross-entropy, binary cross-entropy on logits, mean squared error).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convlens.data.split import split_indices

TASKS = ("classification", "binary", "regression")
_KINDS = {2: "tokens", 3: "signals", 4: "images", 5: "volumes"}
#: The vocabulary's first two entries for token datasets: id 0 pads, id 1 stands for any token
#: the training split never showed.
PAD, UNK = "<pad>", "<unk>"


#: the most classes a data file may name with integer labels: a label is a class index, so a
#: label of 10**12 would mean 10**12 classes; it is refused (with this bound) before any
#: per-class list is built
MAX_CLASSES = 100_000


def check_class_count(largest_label: float, where: str) -> int:
    """``largest_label + 1`` classes, or a ValueError naming the bound :data:`MAX_CLASSES`."""
    if largest_label >= MAX_CLASSES:
        text = f"{largest_label:g}" if isinstance(largest_label, float) else str(largest_label)
        raise ValueError(
            f"{where}: label {text} is too large to be a class index: expected labels "
            f"0 <= label < {MAX_CLASSES:,} (class k is label k); real-valued targets need "
            "task='regression'")
    return int(largest_label) + 1


@dataclass(eq=False)
class Dataset:
    """Inputs and targets split into a training and a test set.

    Attributes:
        x_train: ``(N_train, C, *spatial)`` float32 inputs (images in [0, 1]), or
            ``(N_train, L)`` integer token ids in ``[0, len(vocabulary))``.
        y_train: ``(N_train,)`` int64 class indices, or float32 regression targets.
        x_test: ``(N_test, C, *spatial)`` float32 inputs, same ``(C, *spatial)`` as training
            (or ``(N_test, L)`` token ids of the same ``L``).
        y_test: the test targets, like ``y_train``.
        class_names: the name of each class; ``class_names[k]`` names label ``k``. Empty for
            regression; two names for a binary task (label 0, then label 1).
        name: the registry name the dataset was loaded under (``"mnist-5k"``).
        description: where the data comes from and how it was split, in one sentence.
        task: ``"classification"``, ``"binary"`` or ``"regression"`` (see the module docstring).
        target_names: regression only: a name per target column (``("mean brightness",)``).
        vocabulary: tokens only: the token each id stands for, ``vocabulary[0]`` the padding
            (``"<pad>"``); built on the training split, so a model needs
            ``Embedding(len(vocabulary), D, padding_idx=0)``. Empty for other inputs.

    Raises:
        ValueError: on construction, when the arrays do not fit together (ranks, shapes,
            dtypes, labels outside ``[0, len(class_names))``, non-finite regression targets).
    """

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    class_names: tuple[str, ...] = field(repr=False)
    name: str
    description: str = field(default="", repr=False)
    task: str = "classification"
    target_names: tuple[str, ...] = field(default=(), repr=False)
    vocabulary: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        self.class_names = tuple(self.class_names)
        self.target_names = tuple(self.target_names)
        self.vocabulary = tuple(self.vocabulary)
        if self.task not in TASKS:
            raise ValueError(f"{self.name}: expected task in {TASKS}, received {self.task!r}")
        for part in ("train", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if x.ndim < 2 or (x.ndim == 2 and not np.issubdtype(x.dtype, np.integer)):
                raise ValueError(
                    f"{self.name}: expected x_{part} of shape (N, C, ...): (N, C, L) signals, "
                    f"(N, C, H, W) images or (N, C, D, H, W) volumes, or (N, L) integer token "
                    f"ids; received {x.shape} {x.dtype}"
                    + (" (a signal needs its channel axis: x[:, None, :])" if x.ndim == 2 else "")
                )
            if x.ndim == 2:
                self._check_tokens(part, x)
            if y.ndim == 0 or y.shape[0] != x.shape[0]:
                raise ValueError(
                    f"{self.name}: expected y_{part} of shape ({x.shape[0]},) to match "
                    f"x_{part} {x.shape}, received {y.shape}"
                )
            if self.task == "regression":
                self._check_regression_targets(part, y)
            else:
                self._check_labels(part, y)
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"{self.name}: expected train and test inputs of one shape, received "
                f"{self.x_train.shape[1:]} and {self.x_test.shape[1:]}"
            )
        if self.vocabulary and self.kind != "tokens":
            raise ValueError(
                f"{self.name}: a vocabulary belongs to (N, L) token ids, received {self.kind} "
                f"of shape {self.x_train.shape}"
            )
        self._check_classes()

    def _check_tokens(self, part: str, x: np.ndarray) -> None:
        if not self.vocabulary:
            raise ValueError(
                f"{self.name}: (N, L) token ids need a vocabulary (vocabulary[k] names id k, "
                f"vocabulary[0] the padding); received none for x_{part} {x.shape}"
            )
        self._check_indices(f"x_{part}", x, "token ids", len(self.vocabulary), "vocabulary entries")

    def _check_indices(self, array: str, values: np.ndarray, what: str, count: int, of: str) -> None:
        """Raise unless every value of ``values`` is in ``[0, count)``: an index into ``count`` ``of``."""
        if values.size and (values.min() < 0 or values.max() >= count):
            raise ValueError(
                f"{self.name}: expected {what} in [0, {count - 1}] ({count} {of}), received {array} in "
                f"[{values.min()}, {values.max()}]"
            )

    def _check_classes(self) -> None:
        if self.task == "classification" and len(self.class_names) < 2:
            raise ValueError(
                f"{self.name}: expected at least 2 classes to tell apart, received "
                f"{len(self.class_names)} ({', '.join(map(repr, self.class_names)) or 'none'}); a "
                "one-class model has nothing to learn: add examples of another class")

    def _check_labels(self, part: str, y: np.ndarray) -> None:
        if y.ndim != 1:
            raise ValueError(f"{self.name}: expected y_{part} of shape (N,), received {y.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(
                f"{self.name}: expected integer labels in y_{part}, received {y.dtype} "
                "(real-valued targets need task='regression')"
            )
        if self.task == "binary" and len(self.class_names) != 2:
            raise ValueError(
                f"{self.name}: expected 2 class names for a binary task (label 0, label 1), "
                f"received {len(self.class_names)}"
            )
        self._check_indices(f"y_{part}", y, "labels", len(self.class_names), "class names")

    def _check_regression_targets(self, part: str, y: np.ndarray) -> None:
        if y.ndim not in (1, 2):
            raise ValueError(f"{self.name}: expected y_{part} of shape (N,) or (N, T), received {y.shape}")
        if not np.issubdtype(y.dtype, np.floating):
            raise ValueError(
                f"{self.name}: expected float regression targets in y_{part}, received {y.dtype}"
            )
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{self.name}: y_{part} holds {int(np.sum(~np.isfinite(y)))} non-finite targets")
        if part == "test" and y.shape[1:] != self.y_train.shape[1:]:
            raise ValueError(
                f"{self.name}: expected train and test targets of one shape, received "
                f"{self.y_train.shape[1:]} and {y.shape[1:]}"
            )
        if self.target_names and len(self.target_names) != self.num_outputs:
            raise ValueError(
                f"{self.name}: expected {self.num_outputs} target name(s), received {self.target_names}"
            )

    @classmethod
    def from_arrays(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        *,
        name: str,
        class_names: tuple[str, ...] | None = None,
        task: str | None = None,
        test_fraction: float = 0.2,
        seed: int = 0,
        description: str = "",
        target_names: tuple[str, ...] = (),
        vocabulary: tuple[str, ...] = (),
    ) -> Dataset:
        """One set of examples split into train and test with a seed.

        Args:
            x: ``(N, C, ...)`` inputs, or ``(N, L)`` token ids with their ``vocabulary``.
            y: ``(N,)`` integer labels or float targets.
            name: the dataset's name.
            class_names: default ``"0"``, ``"1"``... up to the largest label.
            task: default ``"classification"`` for integer ``y``, ``"regression"`` for float.
            test_fraction: share held out as the test set, stratified by class for
                classification, at random for regression.
            seed: seed of the split.
        """
        y = np.asarray(y)
        if task is None:
            task = "regression" if np.issubdtype(y.dtype, np.floating) else "classification"
        if class_names is None and task != "regression":
            count = 2 if task == "binary" else (check_class_count(y.max().item(), name) if y.size else 0)
            class_names = tuple(str(k) for k in range(count))
        if len(x) != len(y):
            raise ValueError(
                f"{name}: expected as many targets as inputs, received {len(x)} inputs and {len(y)} targets"
            )
        try:
            train, test = split_indices(y, test_fraction, seed)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None
        return cls(
            x[train], y[train], x[test], y[test], class_names or (), name, description, task, target_names,
            vocabulary,
        )

    @property
    def num_classes(self) -> int:
        """Number of classes (2 for a binary task, 0 for regression)."""
        return len(self.class_names)

    @property
    def num_outputs(self) -> int:
        """Outputs a model needs: classes, 1 logit (binary), or target columns (regression)."""
        if self.task == "classification":
            return self.num_classes
        if self.task == "binary":
            return 1
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])

    @property
    def input_shape(self) -> tuple[int, ...]:
        """``(C, *spatial)`` of one example: ``(C, H, W)`` for images, ``(C, L)`` for signals,
        ``(L,)`` for token ids."""
        return tuple(int(n) for n in self.x_train.shape[1:])

    @property
    def kind(self) -> str:
        """``"tokens"``, ``"signals"``, ``"images"`` or ``"volumes"``, from the rank of the inputs."""
        return _KINDS.get(self.x_train.ndim, f"{self.x_train.ndim - 2}-D arrays")

    @property
    def vocab_size(self) -> int:
        """``len(vocabulary)``: the rows of the ``Embedding`` a model of token ids needs (0 otherwise)."""
        return len(self.vocabulary)

    def subset(self, train: int | None = None, test: int | None = None) -> Dataset:
        """The first ``train`` training and ``test`` test examples (``None`` keeps all).

        Loaders store examples in an order that mixes the classes, so a prefix is a fair
        sample; use it for quick experiments and tests.
        """
        for label, n in (("train", train), ("test", test)):
            if n is not None and n < 1:
                raise ValueError(f"expected a positive {label} subset size, received {n}")
        return self.replace(
            x_train=self.x_train[:train],
            y_train=self.y_train[:train],
            x_test=self.x_test[:test],
            y_test=self.y_test[:test],
        )

    def replace(self, **changes: object) -> Dataset:
        """A copy with some fields changed (arrays are shared, not copied); checked again."""
        fields = {
            "x_train": self.x_train,
            "y_train": self.y_train,
            "x_test": self.x_test,
            "y_test": self.y_test,
            "class_names": self.class_names,
            "name": self.name,
            "description": self.description,
            "task": self.task,
            "target_names": self.target_names,
            "vocabulary": self.vocabulary,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"Dataset has no field(s) {sorted(unknown)}; fields: {list(fields)}")
        fields.update(changes)
        return Dataset(**fields)  # type: ignore[arg-type]

    def summary(self) -> str:
        """One line: name, sizes, input shape, and the classes or targets."""
        shape = "x".join(str(n) for n in self.input_shape)
        head = f"{self.name}: {len(self.y_train)} train / {len(self.y_test)} test {self.kind} of {shape}"
        if self.vocabulary:
            head += f" (vocabulary of {self.vocab_size})"
        if self.task == "classification":
            return f"{head}, {self.num_classes} classes"
        if self.task == "binary":
            return f"{head}, binary: 1 = {self.class_names[1]!r}, 0 = {self.class_names[0]!r}"
        names = f" ({', '.join(self.target_names)})" if self.target_names else ""
        plural = "s" if self.num_outputs != 1 else ""
        return f"{head}, regression on {self.num_outputs} target{plural}{names}"
