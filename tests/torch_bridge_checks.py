"""Checks shared by the PyTorch bridge tests: a convlens model and a torch module compute the
same output, input gradient and parameter gradients (by state-dict name)."""

from __future__ import annotations

import numpy as np
import torch
from torch_oracle import assert_close

import convlens as cl


def as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def assert_same_function(model: cl.Module, module: torch.nn.Module, xs, seed: int = 0) -> None:
    """Forward values, dL/dx of every input and dL/dθ of every parameter agree (tolerance per
    dtype from torch_oracle). Parameters are matched by name; torch's aliases of a tied
    parameter carry the same tensor, so each convlens name is checked once."""
    xs = as_tuple(xs)
    floats = [x.dtype for x in xs if np.issubdtype(x.dtype, np.floating)]
    dtype = floats[0] if floats else model.parameters()[0].dtype   # token ids: the weights' dtype
    tensors = [torch.from_numpy(x.copy()).requires_grad_(np.issubdtype(x.dtype, np.floating)) for x in xs]
    yt = module(*tensors)
    y = model(*xs)
    ys, yts = as_tuple(y), as_tuple(yt)
    assert len(ys) == len(yts)
    for i, (a, b) in enumerate(zip(ys, yts)):
        assert_close(a, b, f"output {i}", dtype)
    rng = np.random.default_rng(seed)
    dys = tuple(rng.standard_normal(a.shape).astype(dtype) for a in ys)
    model.zero_grad()
    module.zero_grad()
    dx = model.backward(dys if len(dys) > 1 else dys[0])
    torch.autograd.backward(yts, [torch.from_numpy(d.copy()) for d in dys])
    for i, (d, t) in enumerate(zip(as_tuple(dx), tensors)):
        if t.requires_grad:
            assert_close(d, t.grad, f"dL/dx{i}", dtype)
    torch_params = dict(module.named_parameters(remove_duplicate=False))
    # a tensor the torch module uses directly (self.scale) is the graph's Constant node
    # "scale", whose parameter is "scale.value"
    ours = {name if name in torch_params else name.removesuffix(".value"): p
            for name, p in model.named_parameters()}
    assert set(ours) <= set(torch_params), sorted(set(ours) - set(torch_params))
    for name, p in ours.items():
        assert p.grad is not None, f"{name}.grad was not set by backward"
        assert_close(p.grad, torch_params[name].grad, f"dL/d{name}", dtype)
