"""Small models holding every layer ONNX can express, with the input shape of one example
(shared by tests/io/onnx/test_exporter.py and test_importer.py)."""

from __future__ import annotations

import numpy as np

import convlens as cl


def randomize_statistics(model, seed=0):
    """Non-trivial running statistics and affine parameters, so eval-mode normalization is tested."""
    rng = np.random.default_rng(seed)
    for name, value in model.named_buffers():
        if name.endswith("running_mean"):
            value[...] = rng.standard_normal(value.shape)
        elif name.endswith("running_var"):
            value[...] = rng.uniform(0.5, 2.0, value.shape)
    for name, p in model.named_parameters():
        if name.endswith(".weight") and p.data.ndim == 1:
            p.data[...] = rng.uniform(0.5, 1.5, p.data.shape)
        elif name.endswith(".bias"):
            p.data[...] = rng.standard_normal(p.data.shape) * 0.1
    return model


LAYER_STACKS = {
    "conv_variants": (lambda: cl.Sequential(
        cl.Conv2d(3, 8, 3, stride=2, padding="same"), cl.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4),
        cl.Conv2d(8, 6, (3, 2), padding=((1, 0), (2, 1))), cl.Conv2d(6, 4, 3, padding=1, padding_mode="reflect"),
        cl.Conv2d(4, 4, 3, padding=1, padding_mode="replicate", bias=False)), (3, 13, 12)),
    "pools": (lambda: cl.Sequential(
        cl.MaxPool2d(3, 2, padding=1, ceil_mode=True), cl.AvgPool2d(3, 1, padding=1, count_include_pad=False),
        cl.AvgPool2d(2, ceil_mode=True), cl.MinPool2d(2, 1), cl.MaxPool2d(2, 1, dilation=2)), (3, 17, 15)),
    "pool_1d_3d": (lambda: cl.Sequential(cl.Conv3d(2, 4, 3, padding=1), cl.MaxPool3d(2), cl.AvgPool3d(2, 1),
                                         cl.Flatten(2), cl.Conv1d(4, 3, 3), cl.AvgPool1d(2, 1, padding=1),
                                         cl.GlobalMaxPool1d()), (2, 6, 6, 6)),
    "activations": (lambda: cl.Sequential(
        cl.Conv2d(2, 4, 1), cl.ReLU(), cl.LeakyReLU(0.2), cl.ELU(0.7), cl.SELU(), cl.Hardtanh(-0.5, 2.0),
        cl.ReLU6(), cl.HardSwish(), cl.HardSigmoid(0.2, 0.4), cl.SiLU(), cl.GELU(), cl.GELU("tanh"),
        cl.Tanh(), cl.PReLU(4, init=0.3), cl.PReLU(), cl.Sigmoid(), cl.Identity(), cl.Dropout(0.5),
        cl.Softplus(), cl.Softplus(2.0), cl.Softsign(), cl.Softmax(1), cl.LogSoftmax(2)), (2, 5, 5)),
    "normalization": (lambda: cl.Sequential(
        cl.BatchNorm2d(3), cl.InstanceNorm2d(3), cl.InstanceNorm2d(3, affine=True, track_running_stats=True),
        cl.GroupNorm(3, 3), cl.Conv2d(3, 6, 1), cl.GroupNorm(2, 6, affine=False), cl.LayerNorm((5, 4)),
        cl.LocalResponseNorm(5, alpha=0.1, beta=0.75, k=2.0), cl.LocalResponseNorm(3)), (3, 5, 4)),
    "shape_ops": (lambda: cl.Sequential(
        cl.PixelShuffle(2), cl.Conv2d(2, 8, 3, padding=1), cl.PixelUnshuffle(2), cl.Permute(0, 1, 3, 2),
        cl.Flatten(2, 3), cl.Reshape(8, 4, -1), cl.Flatten(), cl.Linear(512, 5)), (8, 4, 4)),
    "linear_on_3d": (lambda: cl.Sequential(cl.Linear(6, 4), cl.ReLU(), cl.Linear(4, 3, bias=False)), (5, 6)),
    "adaptive_global": (lambda: cl.Sequential(cl.AdaptiveAvgPool2d((3, 2)), cl.AdaptiveMaxPool2d(1),
                                              cl.GlobalAvgPool2d()), (3, 6, 8)),
    "reduce": (lambda: cl.Sequential(cl.Conv2d(2, 4, 1), cl.Reduce("max", 1), cl.Reduce("mean", (1, -1), keepdims=False),
                                     cl.Reduce("max", -1)), (2, 5, 6)),
    "upsample": (lambda: cl.Sequential(
        cl.Upsample(scale_factor=2), cl.Conv2d(2, 3, 1), cl.Upsample(size=(7, 9), mode="bilinear"),
        cl.Upsample(scale_factor=(1.5, 2), mode="bilinear", align_corners=True), cl.Flatten(2),
        cl.Upsample(scale_factor=2, mode="linear"), cl.Upsample(size=365)), (2, 3, 4)),
    "conv_transpose": (lambda: cl.Sequential(
        cl.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), cl.ReLU(),
        cl.ConvTranspose2d(4, 4, (2, 3), stride=(1, 2), padding=((0, 1), (1, 0)), dilation=(2, 1), groups=2),
        cl.Flatten(2), cl.ConvTranspose1d(4, 2, 3, stride=3, bias=False)), (3, 4, 5)),
    "residual_concat": (lambda: cl.Sequential(
        cl.Residual(cl.Sequential(cl.Conv2d(3, 3, 3, padding=1), cl.BatchNorm2d(3))),
        cl.Residual(cl.Conv2d(3, 5, 3, stride=2, padding=1), cl.Conv2d(3, 5, 1, stride=2)),
        cl.Concat(cl.Conv2d(5, 2, 1), cl.Sequential(cl.MaxPool2d(3, 1, padding=1), cl.Conv2d(5, 3, 1)), dim=1),
        cl.GlobalAvgPool2d(keepdims=True)), (3, 8, 8)),
}


