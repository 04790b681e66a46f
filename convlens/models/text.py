"""A text CNN (Kim, 2014): word vectors, convolutions of several widths, max over time.

Token ids (N, L) → Embedding (N, L, D) → Permute to (N, D, L) → parallel Conv1d branches with
kernel widths (3, 4, 5) → ReLU → global max pool (each filter's strongest n-gram) →
concatenated features → dropout → linear. Needs L ≥ the widest kernel (5).

54,087 parameters for words-lang (a vocabulary of 53 characters, 7 classes; 113,730 with the
defaults, 1,000 tokens and 2 classes). Measured on words-lang (the language of a single word
from Debian's word lists, 7 languages, 21,000 train / 7,000 test words, chance 14.3 %):
87.70 % test accuracy with ``convlens train --model text_cnn --dataset words-lang --optimizer
adam --lr 0.002 --epochs 20`` (seed 0), in 108 s of training on one core; chosen on a
validation split (``--val-fraction 0.1``: 85.4 %). See RESULTS.md.
"""

from __future__ import annotations

from convlens.layers import (
    Concat,
    Conv1d,
    Dropout,
    Embedding,
    Flatten,
    GlobalMaxPool1d,
    Linear,
    Permute,
    ReLU,
    Sequential,
)
from convlens.models.registry import register


@register("text_cnn", "Text CNN: Embedding → Conv1d widths 3/4/5 → global max pool → linear",
          "Kim 2014, Convolutional Neural Networks for Sentence Classification",
          expected="words-lang 87.7 %, chance 14.3 % (`--optimizer adam --lr 0.002 --epochs 20`; "
                   "54,087 parameters with that vocabulary)")
def text_cnn(vocab_size: int = 1000, num_classes: int = 2, embedding_dim: int = 64,
             channels: int = 64, kernel_sizes: tuple[int, ...] = (3, 4, 5),
             dropout: float = 0.5, padding_idx: int | None = 0) -> Sequential:
    branches = [Sequential(Conv1d(embedding_dim, channels, k), ReLU(), GlobalMaxPool1d())
                for k in kernel_sizes]
    return Sequential(
        Embedding(vocab_size, embedding_dim, padding_idx=padding_idx),
        Permute(0, 2, 1),                       # (N, L, D) -> (N, D, L): channels first
        Concat(*branches, dim=1),
        Flatten(), Dropout(dropout), Linear(channels * len(kernel_sizes), num_classes),
    )
