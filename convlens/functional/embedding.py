"""Embedding lookup: integer token ids -> rows of a table of vectors.

Shapes: ids (*) integers in [0, V), weight (V, D), y (*, D) with ``y[i…] = weight[ids[i…]]``.
A lookup is a one-hot vector times the table, so its gradient scatters ``dy`` back onto the
rows that were read, adding up when a row was read several times:

    dweight[v] = Σ_{i : ids[i] = v} dy[i]              (np.add.at, which accumulates repeats)

The ids are discrete: there is no gradient with respect to them. The ``padding_idx`` row, if
any, receives no gradient (it stays what it was initialised to, zero by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EmbeddingCache:
    ids: np.ndarray
    num_embeddings: int
    padding_idx: int | None


def check_ids(name: str, ids: np.ndarray, num_embeddings: int) -> np.ndarray:
    """Integer ids in [0, num_embeddings), or an error naming the first bad id and where."""
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(
            f"{name} expects integer token ids, received an array of dtype {ids.dtype} "
            f"with shape {ids.shape}; convert it with ids.astype(np.int64)"
        )
    bad = (ids < 0) | (ids >= num_embeddings)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        count = int(bad.sum())
        raise IndexError(
            f"{name}: token id {int(ids[position])} at position {position} is out of range; "
            f"valid ids are 0 … {num_embeddings - 1} (num_embeddings={num_embeddings}); "
            f"{count} of the {ids.size} ids in this input are out of range"
        )
    return ids


def embedding_forward(
    ids: np.ndarray, weight: np.ndarray, padding_idx: int | None = None
) -> tuple[np.ndarray, EmbeddingCache]:
    """``y = weight[ids]``: (*) -> (*, D). ``ids`` must already be valid (see check_ids)."""
    return weight[ids], EmbeddingCache(ids, weight.shape[0], padding_idx)


def embedding_backward(dy: np.ndarray, cache: EmbeddingCache) -> np.ndarray:
    """``dweight`` (V, D): each ``dy[i]`` added to row ``ids[i]``; the padding row gets 0."""
    d = dy.shape[-1]
    dweight = np.zeros((cache.num_embeddings, d), dtype=dy.dtype)
    np.add.at(dweight, cache.ids.reshape(-1), dy.reshape(-1, d))
    if cache.padding_idx is not None:
        dweight[cache.padding_idx] = 0
    return dweight
