"""Embedding against torch.nn.Embedding (lookup, scattered gradient with repeated ids,
padding_idx), its initialization and errors; Permute and the Embedding → Conv1d text pipeline."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

import convlens as cl
from convlens.layers.conv import Conv1d
from convlens.layers.embedding import Embedding
from convlens.layers.shape_extra import Permute
from convlens.random import manual_seed

V, D = 11, 5
# repeated ids (3 appears four times, 0 three times) so the scatter must accumulate
IDS = {
    "(L,)": np.array([3, 1, 3, 0, 10]),
    "(N, L)": np.array([[3, 1, 3, 0], [0, 3, 7, 0], [10, 3, 2, 9]]),
    "(N, L, K)": np.array([[[1, 1], [2, 3]], [[3, 0], [0, 10]]]),
}
GRID = list(itertools.product(IDS, [None, 0, 3, -1], [np.float64, np.float32]))


@pytest.mark.parametrize("ids_id, padding_idx, dtype", GRID)
def test_embedding_matches_torch(ids_id, padding_idx, dtype):
    ids = IDS[ids_id]
    ours = Embedding(V, D, padding_idx=padding_idx, dtype=dtype)
    ours.weight.data = np.random.default_rng(0).standard_normal((V, D)).astype(dtype)
    theirs = torch.nn.Embedding(V, D, padding_idx=padding_idx, dtype=torch.from_numpy(
        np.zeros(1, dtype)).dtype)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
    y = ours(ids)
    yt = theirs(torch.from_numpy(ids))
    assert y.shape == (*ids.shape, D) and y.dtype == dtype
    np.testing.assert_array_equal(y, yt.detach().numpy())
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    assert ours.backward(dy) is None  # ids are discrete: no input gradient
    yt.backward(torch.from_numpy(dy))
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=tol, atol=tol)
    if padding_idx is not None:
        assert not ours.weight.grad[padding_idx].any()
    # a row read k times receives the sum of its k output gradients
    row = 3
    expected = dy[ids == row].sum(axis=0) if padding_idx not in (3,) else np.zeros(D)
    np.testing.assert_allclose(ours.weight.grad[row], expected, rtol=tol, atol=tol)


def test_gradients_accumulate_over_backward_calls():
    layer = Embedding(V, D, dtype=np.float64)
    ids = IDS["(N, L)"]
    dy = np.random.default_rng(0).standard_normal((*ids.shape, D))
    layer(ids)
    layer.backward(dy)
    once = layer.weight.grad.copy()
    layer.backward(dy)
    np.testing.assert_allclose(layer.weight.grad, 2 * once)


def test_init_is_standard_normal_with_a_zero_padding_row_and_seeded():
    manual_seed(0)
    layer = Embedding(400, 50, padding_idx=2)
    w = layer.weight.data
    assert w.dtype == np.float32 and w.shape == (400, 50)
    assert not w[2].any()
    others = np.delete(w, 2, axis=0)
    assert abs(others.mean()) < 5 / np.sqrt(others.size)
    assert abs(others.std() - 1) < 0.03
    manual_seed(0)
    np.testing.assert_array_equal(Embedding(400, 50, padding_idx=2).weight.data, w)
    assert Embedding(5, 3, padding_idx=-1).padding_idx == 4  # negative counts from the end


def test_from_pretrained_copies_and_freezes():
    table = np.arange(12.0).reshape(4, 3)
    layer = Embedding.from_pretrained(table, padding_idx=1)
    table[0, 0] = 99.0
    np.testing.assert_array_equal(layer(np.array([[0, 1]]))[0], [[0, 1, 2], [3, 4, 5]])
    assert layer.weight.requires_grad is False and layer.weight.dtype == np.float64
    assert Embedding.from_pretrained(table, freeze=False).weight.requires_grad is True
    with pytest.raises(ValueError, match=r"expects a 2-D array .* received shape \(12,\)"):
        Embedding.from_pretrained(table.ravel())


@pytest.mark.parametrize("ids, message", [
    (np.array([[1, 2, 3], [4, 11, 0]]),
     r"Embedding\(11, 5\): token id 11 at position \(1, 1\) is out of range; valid ids are "
     r"0 … 10 \(num_embeddings=11\); 1 of the 6 ids in this input are out of range"),
    (np.array([[1, -1, 3], [40, 11, 0]]),
     r"token id -1 at position \(0, 1\) is out of range; valid ids are 0 … 10 .*; 3 of the 6"),
])
def test_index_out_of_range_names_id_position_and_range(ids, message):
    with pytest.raises(IndexError, match=message):
        Embedding(V, D)(ids)


def test_float_ids_are_refused_with_a_fix():
    with pytest.raises(TypeError, match=re.escape(
            "Embedding(11, 5) expects integer token ids, received an array of dtype float32 "
            "with shape (2, 3); convert it with ids.astype(np.int64)")):
        Embedding(V, D)(np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("make, message", [
    (lambda: Embedding(0, 4), r"Embedding: num_embeddings must be a positive int, received 0"),
    (lambda: Embedding(4, 2.5), r"Embedding: embedding_dim must be a positive int, received 2\.5"),
    (lambda: Embedding(4, 2, padding_idx=4),
     r"padding_idx must be in \[-4, 3\] \(an id of the vocabulary\), received 4"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_backward_checks_dy_shape_and_order():
    layer = Embedding(V, D)
    with pytest.raises(RuntimeError, match=r"Embedding\.backward\(\) was called before forward"):
        layer.backward(np.zeros((2, D)))
    layer(np.array([[1, 2, 3]]))
    with pytest.raises(ValueError, match=r"Embedding\.backward: expected dy of shape \(1, 3, 5\) \(the "
                                         r"output of forward\), received \(1, 5, 3\)"):
        layer.backward(np.zeros((1, 5, 3)))
    assert repr(Embedding(10, 4, padding_idx=0)) == (
        "Embedding(num_embeddings=10, embedding_dim=4, padding_idx=0)")


# -- Permute -------------------------------------------------------------------------------
@pytest.mark.parametrize("dims", [(0, 2, 1), (1, 0, 2), (0, 3, 1, 2), (2, 0, 1)])
def test_permute_matches_torch(dims):
    shape = (2, 3, 4, 5)[: len(dims)]
    x = np.random.default_rng(0).standard_normal(shape)
    layer = Permute(*dims)
    y = layer(x)
    xt = torch.tensor(x, requires_grad=True)
    yt = xt.permute(*dims)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    assert y.flags.c_contiguous
    dy = np.random.default_rng(1).standard_normal(y.shape)
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_array_equal(layer.backward(dy), xt.grad.numpy())
    assert cl.gradcheck(layer, x, max_checks=None).max_error < 1e-7


def test_permute_errors():
    with pytest.raises(ValueError, match=r"Permute expects a permutation of 0 … 2 \(every axis "
                                         r"once\), received \(0, 2, 2\)"):
        Permute(0, 2, 2)
    with pytest.raises(ValueError, match=r"Permute\(0, 2, 1\) expects a 3-D input, received "
                                         r"shape \(2, 3\) \(2-D\)"):
        Permute(0, 2, 1)(np.zeros((2, 3)))
    assert Permute((0, 2, 1)).dims == (0, 2, 1)
    assert repr(Permute(0, 2, 1)) == "Permute(dims=(0, 2, 1))"


def test_text_cnn_front_end_matches_torch():
    """Embedding (N, L) -> (N, L, D), Permute -> (N, D, L), Conv1d: values and every gradient."""
    manual_seed(0)
    emb, perm = Embedding(V, 6, padding_idx=0, dtype=np.float64), Permute(0, 2, 1)
    conv = Conv1d(6, 4, kernel_size=3, dtype=np.float64)
    model = cl.Sequential(emb, perm, conv)
    t_emb = torch.nn.Embedding(V, 6, padding_idx=0, dtype=torch.float64)
    t_conv = torch.nn.Conv1d(6, 4, 3, dtype=torch.float64)
    with torch.no_grad():
        t_emb.weight.copy_(torch.from_numpy(emb.weight.data))
        t_conv.weight.copy_(torch.from_numpy(conv.weight.data))
        t_conv.bias.copy_(torch.from_numpy(conv.bias.data))
    ids = np.array([[4, 2, 9, 0, 0], [1, 1, 10, 3, 0]])
    y = model(ids)
    yt = t_conv(t_emb(torch.from_numpy(ids)).permute(0, 2, 1))
    assert y.shape == (2, 4, 3)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    dy = np.random.default_rng(0).standard_normal(y.shape)
    assert model.backward(dy) is None
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(emb.weight.grad, t_emb.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.weight.grad, t_conv.weight.grad.numpy(), rtol=1e-12,
                               atol=1e-12)
