"""`Dataset`: a train/test pair of image arrays with their labels and class names."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(eq=False)
class Dataset:
    """Images and labels split into a training and a test set.

    Attributes:
        x_train: ``(N_train, C, H, W)`` float32 images, values in [0, 1].
        y_train: ``(N_train,)`` int64 class indices in ``[0, num_classes)``.
        x_test: ``(N_test, C, H, W)`` float32 images.
        y_test: ``(N_test,)`` int64 class indices.
        class_names: the name of each class; ``class_names[k]`` names label ``k``.
        name: the registry name the dataset was loaded under (``"mnist-5k"``).
        description: where the data comes from and how it was split, in one sentence.

    Raises:
        ValueError: on construction, when the arrays do not fit together (shapes, dtypes,
            labels outside ``[0, len(class_names))``).
    """

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    class_names: tuple[str, ...] = field(repr=False)
    name: str
    description: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        self.class_names = tuple(self.class_names)
        for part in ("train", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if x.ndim != 4:
                raise ValueError(f"{self.name}: expected x_{part} of shape (N, C, H, W), received {x.shape}")
            if y.shape != (x.shape[0],):
                raise ValueError(
                    f"{self.name}: expected y_{part} of shape ({x.shape[0]},) to match "
                    f"x_{part} {x.shape}, received {y.shape}"
                )
            if not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"{self.name}: expected integer labels in y_{part}, received {y.dtype}")
            if y.size and (y.min() < 0 or y.max() >= len(self.class_names)):
                raise ValueError(
                    f"{self.name}: expected labels in [0, {len(self.class_names) - 1}] "
                    f"({len(self.class_names)} class names), received y_{part} in "
                    f"[{y.min()}, {y.max()}]"
                )
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"{self.name}: expected train and test images of one shape, received "
                f"{self.x_train.shape[1:]} and {self.x_test.shape[1:]}"
            )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        c, h, w = self.x_train.shape[1:]
        return (c, h, w)

    def subset(self, train: int | None = None, test: int | None = None) -> Dataset:
        """The first ``train`` training and ``test`` test examples (``None`` keeps all).

        Loaders store examples in an order that mixes the classes, so a prefix is a fair
        sample; use it for quick experiments and tests.
        """
        for label, n in (("train", train), ("test", test)):
            if n is not None and n < 1:
                raise ValueError(f"expected a positive {label} subset size, received {n}")
        return Dataset(
            self.x_train[:train],
            self.y_train[:train],
            self.x_test[:test],
            self.y_test[:test],
            self.class_names,
            self.name,
            self.description,
        )

    def summary(self) -> str:
        """One line: name, sizes, image shape, number of classes."""
        c, h, w = self.input_shape
        return (
            f"{self.name}: {len(self.y_train)} train / {len(self.y_test)} test images of "
            f"{c}x{h}x{w}, {self.num_classes} classes"
        )
