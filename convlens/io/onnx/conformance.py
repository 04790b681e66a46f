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
#: other tests cover what is there (none today)
PARTIAL: dict[str, str] = {}

EXCLUDED: dict[str, str] = {
    r"^test_identity_(sequence|opt)_cpu$": "sequence and optional types",
    r"^test_squeezenet_cpu$":
        "ill-conditioned: the light model's constant weights make its 1,000 logits equal in exact "
        "arithmetic, near 9.4757e9, where float32 numbers are 1,024 apart; convlens's BLAS sums give "
        "them 3 such steps apart (3e-7 relative), which turns the expected uniform softmax (0.001 "
        "each) into 1/32 on 32 classes. onnxruntime matches only because its convolution sums every "
        "channel in the same order; no tolerance on the softmax can tell right from wrong here",
    r"^test_resize_.*(cubic|antialias|tf_crop_and_resize|axes_\d_\d|not_larger|not_smaller|symmetric).*_cpu$":
        "Resize with cubic interpolation, antialiasing, crop-and-resize, the axes attribute, "
        "keep_aspect_ratio_policy or half_pixel_symmetric coordinates",
    r"^test_resize_(downsample_(scales|sizes)_nearest|upsample_sizes_nearest|upsample_sizes_nearest_ceil_half_pixel"
    r"|upsample_sizes_nearest_floor_align_corners|upsample_sizes_nearest_round_prefer_ceil_asymmetric)_cpu$":
        "nearest Resize other than PyTorch's (asymmetric, floor) at non-integer scales",
    r"^test_resize_downsample_(scales_linear_align_corners|sizes_linear_pytorch_half_pixel)_cpu$":
        "linear Resize at the edges: pytorch_half_pixel to a length of 1 (refused); align_corners "
        "with scales giving fractional sizes, where ONNX's reference divides by the unrounded "
        "n·scale − 1 and onnxruntime, like PyTorch and convlens, by the output length − 1",
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


# -- the table of docs/onnx_operators.md -------------------------------------------------------
def _data_sets(case) -> list[tuple[list, list]]:
    """The inputs and expected outputs of a case, as onnx's runner finds them."""
    import glob

    from onnx import numpy_helper

    if case.data_sets is not None:
        return case.data_sets
    if case.model_dir is None:  # a light "real" model: onnx's runner feeds arange / n
        path = os.path.join(os.path.dirname(onnx.__file__), "..", case.url)
        model = onnx.load(path)
        inits = {i.name for i in model.graph.initializer}
        from onnx.backend.test.runner import Runner

        inputs = [Runner.generate_dummy_data(i, random=False)
                  for i in model.graph.input if i.name not in inits]
        expected = onnx.TensorProto()
        with open(os.path.splitext(path)[0] + "_output_0.pb", "rb") as handle:
            expected.ParseFromString(handle.read())
        return [(inputs, [numpy_helper.to_array(expected)])]
    sets = []
    for folder in sorted(glob.glob(os.path.join(case.model_dir, "test_data_set*"))):
        def load(prefix: str, folder: str = folder) -> list:
            arrays = []
            for file in sorted(glob.glob(os.path.join(folder, f"{prefix}_*.pb"))):
                tensor = onnx.TensorProto()
                with open(file, "rb") as handle:
                    tensor.ParseFromString(handle.read())
                arrays.append(numpy_helper.to_array(tensor))
            return arrays
        sets.append((load("input"), load("output")))
    return sets


def run_case(case) -> str | None:
    """Run one case with the convlens backend: None when it passes, else the error."""
    from onnx.backend.test.runner import Runner

    from convlens.io.onnx.backend import ConvlensBackend

    model = case.model
    if model is None:
        path = (os.path.join(case.model_dir, "model.onnx") if case.model_dir is not None
                else os.path.join(os.path.dirname(onnx.__file__), "..", case.url))
        model = onnx.load(path)
    try:
        rep = ConvlensBackend.prepare(model)
        for inputs, expected in _data_sets(case):
            Runner.assert_similar_outputs(expected, list(rep.run(inputs)), rtol=case.rtol, atol=case.atol)
    except Exception as error:  # a failing case is reported, not raised
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    return None


def table() -> str:
    """Markdown: per supported operator, the conformance cases that pass / run / are excluded."""
    import warnings
    from collections import defaultdict

    from onnx.backend.test.loader import load_model_tests

    from convlens.io.onnx.converters.registry import CONVERTERS

    supported = set(supported_operators())
    stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    models: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    failures: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind in KINDS:
            for case in load_model_tests(kind=kind):
                ops = case_operators(case)
                if not (ops and ops & supported and ops <= supported | FOLDED):
                    continue
                name = f"{case.name}_cpu"
                if exclusion(name) is not None:
                    outcome = "excluded"
                else:
                    error = run_case(case)
                    outcome = "passed" if error is None else "failed"
                    if error is not None:
                        failures.append(f"{name}: {error}")
                target = stats if kind == "node" else models
                for op in ops & supported if kind == "node" else [KINDS[kind]]:
                    target[op][outcome] += 1
    lines = ["| Operator | Opsets | Node cases passed | Excluded | Note |", "|---|---|---|---|---|"]
    for op in sorted(supported):
        spans = sorted({(r.first_opset, r.last_opset) for r in CONVERTERS[op]})
        opsets = ", ".join(f"{max(a, 9)}–{b if b is not None else 'newest'}" for a, b in spans)
        counts = stats[op]
        ran = counts["passed"] + counts["failed"]
        lines.append(f"| {op} | {opsets} | {counts['passed']} / {ran} | {counts['excluded']} | "
                     f"{PARTIAL.get(op, '')} |")
    lines += ["", "| Model set | Passed | Excluded |", "|---|---|---|"]
    for label in KINDS.values():
        if label == "Node":
            continue
        counts = models[label]
        ran = counts["passed"] + counts["failed"]
        lines.append(f"| {label} | {counts['passed']} / {ran} | {counts['excluded']} |")
    if failures:
        lines += ["", "Failing cases:", *(f"- {f}" for f in failures)]
    return "\n".join(lines)


HEADER = """# ONNX operators convlens imports

Generated by `python -m convlens.io.onnx.conformance docs/onnx_operators.md` from the converter
registry (`convlens/io/onnx/converters/`) and a run of ONNX's conformance suite
(`onnx.backend.test`, onnx {onnx_version}, opsets 9–{newest}) through the convlens backend
(`convlens/io/onnx/backend.py`); CI runs the same cases in `tests/io/onnx/test_onnx_backend.py`.

A case counts for every operator in its model; *Excluded* cases are those matching a pattern of
`convlens.io.onnx.conformance.EXCLUDED`, listed below with the reason. Cases of operators
convlens does not convert are not run. Files with opsets below 9 are upgraded with ONNX's
version converter first. Shape arithmetic on constants (Shape, Gather, Slice, Concat,
Unsqueeze, Cast, ConstantOfShape, … feeding a Reshape) is folded at import by ONNX's reference
implementation, whatever the operator.

"""


def write_markdown(path: str) -> None:
    from convlens.io import atomic_write

    body = table()
    reasons = "\n".join(f"- `{pattern}`: {reason}" for pattern, reason in EXCLUDED.items())
    text = (HEADER.format(onnx_version=onnx.__version__, newest=onnx.defs.onnx_opset_version())
            + body + "\n\n## Exclusions\n\n" + reasons + "\n")
    with atomic_write(path, "w") as handle:
        handle.write(text)


if __name__ == "__main__":  # pragma: no cover - the documented command
    import sys

    write_markdown(sys.argv[1] if len(sys.argv) > 1 else "docs/onnx_operators.md")
