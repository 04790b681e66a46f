"""Seed 004, "5. CNN 수식으로 알아보기": one forward pass, backward pass and SGD step by hand.

Network: 4×4 input → Conv 3×3 (bias 1) → ReLU → MaxPool 2×2 → Flatten → Dense(1 → 2)
→ softmax + cross-entropy with label [1, 0], learning rate 0.1.

Every value below is asserted. Expected numbers come from the exact computation (closed
forms in the comments), and the whole step is cross-checked with PyTorch at the end.

Where the slides err (their numbers are rounded to 5 decimals, which hides that
g = 1 − softmax(z)₀ = 1/(1 + e^10.9) ≈ 1.8458e-05, not 2e-05):
- dL/dW_dense: the slides give [[0.00022, 0.00022]]; it is 11·[−g, +g] =
  [[−2.0304e-04], [+2.0304e-04]] (11 × 0.00002 is 0.00022, and the signs differ).
- the Dense update: the slides give 0.500022 / −0.500022; it is 0.5 + 0.1·11g = 0.50002030
  and −0.5 − 0.1·11g = −0.50002030.
- the Dense bias update: 0.1 + 0.1g = 0.10000185 and 0.2 − 0.1g = 0.19999815 (slides:
  0.100002 / 0.199998, rounding).
- the conv weight gradient is −g·(the bottom-left window); the slides' update adds
  0.1·|grad| with the rounded g = 0.00002 and gives e.g. 1.00006 where the correct value
  is 1 + 0.1·3g = 1.0000055.
- the conv bias: the slides give 1.00002; the correct value is 1 + 0.1·g = 1.0000018.
"""

import numpy as np
import pytest
import torch

import convlens as cl

X = np.array([[1, 2, 0, 1], [3, 1, 1, 5], [0, 2, 2, 0], [1, 0, 3, 1]], dtype=np.float64)
W_CONV = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
G = 1 / (1 + np.exp(10.9))  # 1 − softmax([5.6, −5.3])₀ = e^−5.3 / (e^5.6 + e^−5.3)


def build():
    conv = cl.Conv2d(1, 1, kernel_size=3)
    dense = cl.Dense(1, 2)
    model = cl.Sequential(conv, cl.ReLU(), cl.MaxPool2d(2), cl.Flatten(), dense).double()
    conv.weight.data[...] = W_CONV
    conv.bias.data[...] = 1.0
    dense.weight.data[...] = [[0.5], [-0.5]]  # PyTorch layout (out, in): the slides' [[0.5, −0.5]]ᵀ
    dense.bias.data[...] = [0.1, 0.2]
    return model


def test_forward_backward_and_update_by_hand():
    model = build()
    conv, relu, pool, flatten, dense = model.layers
    x = X[None, None]
    y = np.array([[1.0, 0.0]])  # one-hot label: class 0

    # forward
    z_conv = conv(x)
    np.testing.assert_allclose(z_conv[0, 0], [[5, 7], [11, 10]], rtol=0, atol=1e-12)
    a_relu = relu(z_conv)
    np.testing.assert_allclose(a_relu, z_conv, atol=0)  # all positive: ReLU changes nothing
    a_pool = pool(a_relu)
    np.testing.assert_allclose(a_pool, [[[[11]]]], atol=0)
    a_flat = flatten(a_pool)
    np.testing.assert_allclose(a_flat, [[11]], atol=0)
    z_dense = dense(a_flat)
    np.testing.assert_allclose(z_dense, [[5.6, -5.3]], atol=1e-12)
    probs = cl.functional.activation.softmax(z_dense)
    np.testing.assert_allclose(probs, [[1 - G, G]], rtol=1e-12)
    np.testing.assert_allclose(probs, [[0.99998154, 1.8458e-05]], rtol=1e-4)
    loss_fn = cl.CrossEntropyLoss()
    loss = loss_fn(z_dense, y)
    assert loss == pytest.approx(-np.log(1 - G), rel=1e-12)
    assert loss == pytest.approx(1.845806e-05, rel=1e-6)

    # backward
    d_z_dense = loss_fn.backward()
    np.testing.assert_allclose(d_z_dense, [[-G, G]], rtol=1e-10)          # ŷ − y
    d_flat = dense.backward(d_z_dense)
    np.testing.assert_allclose(dense.weight.grad, [[-11 * G], [11 * G]], rtol=1e-10)
    np.testing.assert_allclose(dense.bias.grad, [-G, G], rtol=1e-10)
    np.testing.assert_allclose(d_flat, [[-G]], rtol=1e-10)               # 0.5·(−g) − 0.5·g
    d_pool = flatten.backward(d_flat)
    np.testing.assert_allclose(d_pool, [[[[-G]]]], rtol=1e-10)
    d_relu = pool.backward(d_pool)                                       # routed to the 11
    np.testing.assert_allclose(d_relu[0, 0], [[0, 0], [-G, 0]], rtol=1e-10, atol=0)
    d_conv = relu.backward(d_relu)
    np.testing.assert_allclose(d_conv, d_relu, atol=0)
    d_x = conv.backward(d_conv)
    window = X[1:4, 0:3]                                                  # bottom-left window
    np.testing.assert_allclose(conv.weight.grad[0, 0], -G * window, rtol=1e-10, atol=0)
    np.testing.assert_allclose(conv.weight.grad[0, 0],
                               -G * np.array([[3, 1, 1], [0, 2, 2], [1, 0, 3]]), rtol=1e-10)
    np.testing.assert_allclose(conv.bias.grad, [-G], rtol=1e-10)
    expected_dx = np.zeros((4, 4))
    expected_dx[1:4, 0:3] = -G * W_CONV                                   # kernel placed at that window
    np.testing.assert_allclose(d_x[0, 0], expected_dx, rtol=1e-10, atol=0)

    # update
    cl.optim.SGD(model.parameters(), lr=0.1).step()
    np.testing.assert_allclose(dense.weight.data, [[0.5 + 1.1 * G], [-0.5 - 1.1 * G]], rtol=1e-12)
    np.testing.assert_allclose(dense.weight.data, [[0.50002030], [-0.50002030]], rtol=1e-8)
    np.testing.assert_allclose(dense.bias.data, [0.1 + 0.1 * G, 0.2 - 0.1 * G], rtol=1e-12)
    np.testing.assert_allclose(conv.weight.data[0, 0], W_CONV + 0.1 * G * window, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(conv.weight.data[0, 0, 1, 1], 1.0000036916, rtol=1e-10)
    np.testing.assert_allclose(conv.bias.data, [1 + 0.1 * G], rtol=1e-12)
    np.testing.assert_allclose(conv.bias.data, [1.0000018458], rtol=1e-10)


def test_worked_example_matches_pytorch():
    model = build()
    loss_fn = cl.CrossEntropyLoss()
    loss = loss_fn(model(X[None, None]), np.array([0]))
    model.backward(loss_fn.backward())
    cl.optim.SGD(model.parameters(), lr=0.1).step()

    t = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                            torch.nn.Flatten(), torch.nn.Linear(1, 2)).double()
    with torch.no_grad():
        t[0].weight[:] = torch.tensor(W_CONV)
        t[0].bias[:] = 1.0
        t[4].weight[:] = torch.tensor([[0.5], [-0.5]], dtype=torch.float64)
        t[4].bias[:] = torch.tensor([0.1, 0.2], dtype=torch.float64)
    t_loss = torch.nn.functional.cross_entropy(t(torch.tensor(X[None, None])), torch.tensor([0]))
    t_loss.backward()
    torch.optim.SGD(t.parameters(), lr=0.1).step()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    for (name, value), (t_name, t_value) in zip(model.state_dict().items(), t.state_dict().items()):
        assert name == t_name
        # float64 parity tolerance. PyTorch forms dL/dz₀ = p₀ − 1 with p₀ ≈ 0.99998, which
        # cancels ~5 digits: its g is off by ~1.5e-9 relative (ours agrees with 1/(1 + e^10.9)
        # to ~1e-12), i.e. ~3e-15 absolute on weights of size ~1.
        np.testing.assert_allclose(value, t_value.numpy(), rtol=1e-10, atol=1e-14)
