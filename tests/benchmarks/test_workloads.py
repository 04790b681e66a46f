"""benchmarks/workloads.py: every workload builds the same network in convlens and PyTorch.

With the weights copied, the two libraries' outputs and gradients of one training step must
agree (the suite checks the forward pass again on every run, at the full batch).
"""

import numpy as np
import pytest
import torch

import convlens as cl
from benchmarks.workloads import (
    CONV1D_LONG,
    RESNET18_CIFAR,
    WORKLOADS,
    L,
    build,
    copy_weights,
    forward_flops,
)


def twins(spec, seed=0):
    cl.manual_seed(seed)
    model = build(spec, "convlens")
    t_model = build(spec, "torch")
    copy_weights(model, t_model)
    return model, t_model


@pytest.mark.parametrize("spec, shape", [(RESNET18_CIFAR, (2, 3, 32, 32)),
                                         (CONV1D_LONG, (2, 1, 4096))],
                         ids=["resnet18_cifar", "conv1d_long"])
def test_new_workloads_match_pytorch_in_a_training_step(spec, shape):
    """In float64: at batch 2 the deepest batch norms see a few values per channel, and
    float32 rounding differences grow through 17 of them."""
    model, t_model = twins(spec)
    model.to(np.float64)
    t_model.double()
    x = np.random.default_rng(0).standard_normal(shape)
    labels = np.array([3, 7])
    model.train()
    t_model.train()
    loss_fn = cl.CrossEntropyLoss()
    logits = model(x)
    loss = loss_fn(logits, labels)
    model.backward(loss_fn.backward(), need_input_grad=False)
    t_logits = t_model(torch.from_numpy(x))
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.from_numpy(labels))
    t_loss.backward()
    np.testing.assert_allclose(logits, t_logits.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(loss, t_loss.item(), rtol=1e-10)
    grads = dict(model.named_parameters())
    for name, t_param in t_model.named_parameters():
        np.testing.assert_allclose(grads[name].grad, t_param.grad.numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=name)
    # the running statistics of every batch norm moved the same way
    state = model.state_dict()
    for name, value in t_model.state_dict().items():
        np.testing.assert_allclose(state[name], value.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_workload_list_holds_the_new_workloads():
    by_name = {w.name: w for w in WORKLOADS}
    resnet = by_name["resnet18_cifar_train_b128"]
    assert (resnet.input_shape, resnet.train, resnet.spec) == ((128, 3, 32, 32), True, RESNET18_CIFAR)
    signal = by_name["conv1d_long_train_b64"]
    assert (signal.input_shape, signal.train, signal.spec) == ((64, 1, 4096), True, CONV1D_LONG)


def test_resnet18_has_the_layout_of_resnet18():
    model = build(RESNET18_CIFAR, "torch")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    # stem + 8 blocks × 2 convs + 3 projection shortcuts; 11.17 M parameters (10 classes)
    assert len(convs) == 1 + 16 + 3
    assert sum(p.numel() for p in model.parameters()) == 11_173_962


def test_forward_flops_count_both_paths_of_a_residual():
    body = [L("Conv2d", 4, 4, 3, padding=1, bias=False)]
    shortcut = [L("Conv2d", 4, 4, 1, bias=False)]
    shape = (3, 4, 5, 5)
    alone = forward_flops(body, shape) + forward_flops(shortcut, shape)
    assert alone == 2 * 3 * 4 * 25 * (4 * 9 + 4)
    assert forward_flops([L("Residual", body, shortcut)], shape) == alone
    assert forward_flops([L("Residual", body, None)], shape) == forward_flops(body, shape)


def test_summary_gives_each_ratio_and_the_geometric_means():
    from benchmarks.run import summary

    def report(threads, ratios):
        return {"environment": {"threads": threads},
                "workloads": [{"workload": name, "ratio": r, "memory_ratio": 1.25}
                              for name, r in ratios.items()]}

    text = summary([[report(1, {"a": 0.5, "b": 2.0}), report(2, {"a": 1.0, "b": 4.0})]])
    assert "| workload | ratio, 1 thread | ratio, 2 threads | memory ratio, 1 | memory ratio, 2 |" in text
    assert "| a | 0.50 | 1.00 | 1.25 | 1.25 |" in text
    assert "| geometric mean | 1.00 | 2.00 |  |  |" in text
    assert "Geometric mean of all 4 ratios: 1.41." in text


def test_summary_of_several_runs_takes_the_median_of_each_ratio():
    from benchmarks.run import summary

    def report(threads, ratios):
        return {"environment": {"threads": threads},
                "workloads": [{"workload": name, "ratio": r, "memory_ratio": 1.0}
                              for name, r in ratios.items()]}

    runs = [[report(1, {"a": 0.9, "b": 2.0}), report(2, {"a": 1.5})],
            [report(1, {"a": 1.3, "b": 1.0}), report(2, {"a": 0.5})],
            [report(1, {"a": 1.0, "b": 4.0}), report(2, {"a": 1.0})]]
    text = summary(runs)
    assert "median of 3 runs" in text
    assert "| a | 1.00 (0.90, 1.30, 1.00) | 1.00 (1.50, 0.50, 1.00) |" in text
    assert "| b | 2.00 (2.00, 1.00, 4.00) | n/a |" in text
    # the geometric mean is taken over the medians: 1.00, 2.00 and 1.00
    assert "Geometric mean of all 3 ratios: 1.26." in text


def test_runs_must_be_at_least_one(capsys):
    import pytest

    from benchmarks.run import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--runs", "0"])
    assert exit_info.value.code == 2
    assert "--runs takes a count of at least 1, not 0" in capsys.readouterr().err
