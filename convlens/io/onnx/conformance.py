"""Which of ONNX's conformance cases fall inside the operators convlens converts, and which of
those are left out on purpose (with the reason): shared by the conformance test
(tests/io/onnx/test_onnx_backend.py) and the script that writes docs/onnx_operators.md.

A case is *within* the supported operators when every operator of its model has a converter
or only ever computes constants (``Constant``; ``ConstantOfShape``, which the light models use
to make their weights), which the importer folds. Every such case runs, except those matching
:data:`EXCLUDED`: each pattern names a feature convlens does not have, and is the honest
statement of coverage.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import onnx

from convlens.io.onnx.converters import supported_operators

# the model sets of onnx.backend.test, by the category BackendTest files them under
KINDS = {"node": "Node", "pytorch-converted": "PyTorchConverted", "pytorch-operator": "PyTorchOperator",
         "real": "Real"}

FOLDED = {"Constant", "ConstantOfShape"}

#: operators convlens converts in part; their conformance cases all ask for what is missing, and
#: other tests cover what is there
PARTIAL: dict[str, str] = {
    "LayerNormalization": "every conformance case also asks for the Mean and InvStdDev outputs; "
                          "the normalized output is checked against onnxruntime in "
                          "tests/io/onnx/test_exporter.py",
    "ReduceMean": "over all spatial axes only (global average pooling, as ShuffleNet's head; "
                  "tests/io/onnx/test_torchvision_models.py)",
    "ReduceMax": "over all spatial axes only (global max pooling; tests/io/onnx/test_importer.py)",
}

EXCLUDED: dict[str, str] = {
    r"^test_batchnorm_.*_training_mode_cpu$": "batch normalization in training mode (statistics as outputs)",
    r"^test_(training_)?dropout.*mask.*_cpu$|^test_training_dropout.*_cpu$":
        "dropout in training mode or with its mask output",
    r"^test_div_u?int\d+(_trunc)?_cpu$": "integer division (convlens computes in floating point)",
    r"^test_maxpool_2d_uint8_cpu$": "max pooling of uint8 tensors (convlens pools floating point)",
    r"^test_maxpool_with_argmax_.*_cpu$": "the Indices output of MaxPool",
    r"^test_layer_normalization_.*_cpu$": "the Mean and InvStdDev outputs of LayerNormalization",
    r"^test_identity_(sequence|opt)_cpu$": "sequence and optional types",
    r"^test_constant_cpu$": "a model with no input",
    r"^test_matmul_(1d_1d|1d_3d|4d_1d)_cpu$": "MatMul of a 1-D tensor inside a batch",
    r"^test_reduce_(max|mean)_.*_cpu$": "ReduceMean/ReduceMax over axes other than all spatial axes",
    r"^test_reshape_allowzero_reordered_cpu$": "Reshape with allowzero and a zero-size axis",
    r"^test_split_zero_size_splits_opset\d+_cpu$": "zero-size tensors",
    r"^test_PReLU_\dd_multiparam_cpu$":
        "opset-6 PRelu's per-channel slope of shape (C,), which the version converter keeps as (C,)",
    r"^test_operator_(view|addmm|index|chunk|reduced_mean|reduced_mean_keepdim)_cpu$":
        "opset-6 models that reshape to scalars, add a run-time bias in Gemm, slice or split the "
        "batch axis of a batched tensor, or reduce one spatial axis",
    r"^test_(vgg19|zfnet512|densenet121|inception_v2)_cpu$":
        "CI time: these real models at 224×224 take 10 s to minutes each on NumPy",
}


def case_operators(case) -> set[str]:
    model = case.model
    if model is None and case.model_dir is not None:
        model = onnx.load(os.path.join(case.model_dir, "model.onnx"))
    if model is None and case.url is not None:
        model = onnx.load(os.path.join(os.path.dirname(onnx.__file__), "..", case.url))
    return {n.op_type for n in model.graph.node} if model is not None else set()


def cases_within_support() -> Iterator[tuple[str, str, set[str]]]:
    """(kind, test name with BackendTest's ``_cpu`` suffix, operators) of every case whose
    operators all have a converter."""
    from onnx.backend.test.loader import load_model_tests

    supported = set(supported_operators())
    for kind in KINDS:
        for case in load_model_tests(kind=kind):
            ops = case_operators(case)
            if ops and ops & supported and ops <= supported | FOLDED:
                yield kind, f"{case.name}_cpu", ops


def exclusion(name: str) -> str | None:
    return next((reason for pattern, reason in EXCLUDED.items() if re.search(pattern, name)), None)
