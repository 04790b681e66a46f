"""``Embedding``: a learned table of vectors, one per token id (the input of a text CNN).

For a 1-D text CNN, Conv1d wants channels first, (N, D, L), while the lookup gives
(N, L, D); put a ``Permute(0, 2, 1)`` between them::

    model = cl.Sequential(
        cl.Embedding(vocab_size, 128, padding_idx=0),   # (N, L) ints -> (N, L, 128)
        cl.Permute(0, 2, 1),                            # -> (N, 128, L)
        cl.Conv1d(128, 100, kernel_size=3), cl.ReLU(),  # -> (N, 100, L − 2)
        cl.GlobalMaxPool1d(),                           # -> (N, 100)
        cl.Linear(100, num_classes),
    )
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlens import init
from convlens.functional.embedding import (
    EmbeddingCache,
    check_ids,
    embedding_backward,
    embedding_forward,
)
from convlens.layers.module import Module
from convlens.parameter import Parameter


class Embedding(Module):
    """Look up a D-dimensional vector for each integer token id.

    Args:
        num_embeddings: V, the vocabulary size; valid ids are 0 … V − 1.
        embedding_dim: D, the length of each vector.
        padding_idx: an id (negative counts from the end, as PyTorch) whose row starts at
            zero and never receives a gradient: the vector of the padding token.
        dtype: dtype of the table.

    Shape: ids (*) integers -> (*, D); typically (N, L) -> (N, L, D).
    Parameter: ``weight`` (V, D), initialised N(0, 1) as PyTorch (padding row zero).

    ``backward`` fills ``weight.grad`` and returns ``None``: ids are discrete, they have no
    gradient (so an Embedding is always the first layer).

    >>> import numpy as np, convlens as cl
    >>> cl.Embedding(10, 4)(np.array([[1, 2, 3], [4, 5, 0]])).shape
    (2, 3, 4)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype: Any = np.float32, _weight: np.ndarray | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, received {value!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"{name}: padding_idx must be in [-{num_embeddings}, {num_embeddings - 1}] "
                    f"(an id of the vocabulary), received {padding_idx!r}"
                )
            padding_idx = int(padding_idx) % num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
            self.reset_parameters()
        else:  # from_pretrained: the given table as is (no random draw)
            self.weight = Parameter(np.array(_weight, dtype=dtype, copy=True))
        self._cache: EmbeddingCache | None = None

    def reset_parameters(self) -> None:
        """N(0, 1) from ``convlens.manual_seed``'s generator; the padding row set to 0."""
        init.normal_(self.weight, 0.0, 1.0)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: np.ndarray, freeze: bool = True,
                        padding_idx: int | None = None) -> Embedding:
        """An Embedding holding a copy of ``embeddings`` (V, D), e.g. word vectors.

        ``freeze=True`` sets ``weight.requires_grad = False`` (optimizers skip it). The
        padding row is kept as given, as PyTorch does.
        """
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2:
            raise ValueError(
                f"Embedding.from_pretrained expects a 2-D array (num_embeddings, embedding_dim), "
                f"received shape {embeddings.shape}"
            )
        layer = cls(embeddings.shape[0], embeddings.shape[1], padding_idx=padding_idx, dtype=embeddings.dtype,
                    _weight=embeddings)
        layer.weight.requires_grad = not freeze
        return layer

    def expected_input(self) -> str:
        return f"an array (N, L) of integer token ids in [0, {self.num_embeddings})"

    def forward(self, ids: np.ndarray) -> np.ndarray:
        name = f"{type(self).__name__}({self.num_embeddings}, {self.embedding_dim})"
        ids = check_ids(name, ids, self.num_embeddings)
        y, self._cache = embedding_forward(ids, self.weight.data, self.padding_idx)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> None:
        cache = self._cached()  # (dy's shape is checked by Module: convlens/validate.py)
        self.weight.accumulate_grad(embedding_backward(dy, cache))
        return None

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"num_embeddings": self.num_embeddings,
                                  "embedding_dim": self.embedding_dim}
        if self.padding_idx is not None:
            config["padding_idx"] = self.padding_idx
        if self.weight.data.dtype != np.float32:
            config["dtype"] = str(self.weight.data.dtype)
        return config
