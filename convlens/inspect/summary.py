"""``summary(model, input_shape)``: a table of the network, layer by layer.

For each layer: the output shape, the number of parameters (trainable and not), the window
geometry (kernel, stride, padding), the receptive field (size r, jump j and start, see
:mod:`convlens.inspect.receptive_field`), the multiply-adds and the memory it takes.

Everything is measured on a real forward pass over a batch of the given shape, never guessed:

* output shapes are the shapes of the actual outputs (no placeholder batch axis);
* memory is the ``nbytes`` of actual arrays: the parameters (and buffers, such as batch
  norm's running statistics), each layer's output, and what each layer keeps for its backward
  pass (its cache: the im2col matrix of a convolution, ReLU's mask, the winners of max
  pooling, the input of a linear layer, ...). Each underlying buffer is counted once, on the
  first row that holds it: a view (``Flatten``'s output is a view of its input) and a cache
  that keeps a layer's input (``Linear``) add nothing, since those bytes are already counted;
* parameters shared by two layers (or a layer used twice) are counted once, on the first row;
* multiply-adds are those of the matrix products (convolution: output values × C_in/G × ∏k,
  linear: output values × in_features), per example; element-wise layers count 0.

The model is left as it was: buffers and the layers' caches are restored afterwards, and no
gradient is computed. A model that starts with an ``Embedding`` (``text_cnn``) reads token ids:
``input_shape`` is then ``(L,)`` and the batch holds random ids below the vocabulary size.

    >>> import convlens as cl
    >>> s = summary(cl.models.get_model("seed_net"), (1, 28, 28), print_table=False)
    >>> s.total_params, s.total_weights
    (38390, 38250)
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convlens.functional.conv_arithmetic import resolve_padding
from convlens.functional.engine import enable_grad
from convlens.inspect.receptive_field import ReceptiveField, receptive_fields
from convlens.layers.container import Sequential
from convlens.layers.conv import _ConvNd
from convlens.layers.embedding import Embedding
from convlens.layers.global_pool import _AdaptivePoolNd, _GlobalPoolNd
from convlens.layers.graph import Graph, node_calls
from convlens.layers.linear import Linear
from convlens.layers.merge import MatMul
from convlens.layers.module import Module
from convlens.layers.normalization import _BatchNorm, _ChannelNorm
from convlens.layers.pool import _PoolNd
from convlens.notebook import in_notebook
from convlens.parameter import Parameter

# Private attributes of Module that are bookkeeping, not state kept for the backward pass.
_NOT_CACHE = frozenset({"_forward_hooks", "_backward_hooks", "_buffer_names"})


@dataclass
class LayerRow:
    """One row of the summary: one call of one layer.

    Tuples hold one value per spatial axis. ``padding`` is the resolved ``(before, after)``
    pair per axis (``'same'`` becomes numbers). ``receptive_field``/``jump``/``start`` are
    ``None`` when unknown; ``jump`` and ``start`` are also ``None`` once every output sees the
    whole input (``whole_input``). Byte counts follow the counted-once rule of the module
    docstring. ``shared_with`` names the earlier row whose parameters this row reuses.
    ``cache_kept_bytes`` is everything the cache keeps alive, counted before or not (a linear
    layer keeps its input: ``cache_bytes`` 0, ``cache_kept_bytes`` the input's size).
    """

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    trainable: int
    non_trainable: int
    kernel: tuple[int, ...] | None
    stride: tuple[int, ...] | None
    padding: tuple[tuple[int, int], ...] | None
    dilation: tuple[int, ...] | None
    receptive_field: tuple[int, ...] | None
    jump: tuple[int, ...] | None
    start: tuple[float, ...] | None
    whole_input: bool
    mult_adds: int
    param_bytes: int
    activation_bytes: int
    cache_bytes: int
    shared_with: str | None = None
    cache_kept_bytes: int = 0
    inputs: list[str] | None = None   # graph models: the tensors this node reads


@dataclass
class Summary:
    """The table :func:`summary` builds. ``str(summary)`` is the text table."""

    model_type: str
    input_shape: tuple[int, ...]
    dtype: str
    rows: list[LayerRow]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    total_weights: int
    total_biases: int
    input_bytes: int
    param_bytes: int
    activation_bytes: int
    cache_bytes: int
    param_names: dict[str, int] = field(default_factory=dict)
    unused_params: int = 0

    @property
    def total_mult_adds(self) -> int:
        """Multiply-adds of one example's forward pass."""
        return sum(row.mult_adds for row in self.rows)

    @property
    def total_bytes(self) -> int:
        """Input, parameters, activations and caches, each buffer counted once."""
        return self.input_bytes + self.param_bytes + self.activation_bytes + self.cache_bytes

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.rows[-1].output_shape if self.rows else self.input_shape

    def __getitem__(self, name: str) -> LayerRow:
        """The first row named ``name`` (``summary['0']``)."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no row named {name!r}; rows: {[r.name for r in self.rows]}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): every row and total."""
        totals = {k: getattr(self, k) for k in (
            "total_params", "trainable_params", "non_trainable_params", "total_weights",
            "total_biases", "total_mult_adds", "input_bytes", "param_bytes",
            "activation_bytes", "cache_bytes", "total_bytes")}
        return {"model": self.model_type, "input_shape": list(self.input_shape),
                "dtype": self.dtype, "rows": [dataclasses.asdict(r) for r in self.rows],
                **totals}

    # -- display ---------------------------------------------------------------------------
    def _cells(self) -> tuple[list[str], list[list[str]]]:
        header = ["Layer", "Type", "Output shape", "Params", "Kernel", "Stride", "Padding",
                  "RF", "Jump", "Start", "Mult-adds", "Param mem", "Output mem", "Cache mem"]
        body = []
        graph = any(row.inputs is not None for row in self.rows)
        for row in self.rows:
            params = f"{row.params:,}"
            if row.shared_with is not None:
                params = f"(shared: {row.shared_with})"
            elif row.non_trainable:
                params += f" ({row.non_trainable:,} frozen)"
            kernel = _axes(row.kernel)
            if row.dilation is not None and any(d != 1 for d in row.dilation):
                kernel += f" d{_axes(row.dilation)}"
            if len(self.input_shape) < 3:
                rf = ""  # no spatial axes
            elif row.receptive_field is None:
                rf = "?"
            else:
                rf = "×".join(str(r) for r in row.receptive_field)
                if row.whole_input:
                    rf += " (all)"
            body.append([
                row.name, row.type, _shape(row.output_shape), params, kernel,
                _axes(row.stride), _padding(row.padding), rf, _axes(row.jump),
                _axes(row.start), f"{row.mult_adds:,}" if row.mult_adds else "",
                format_bytes(row.param_bytes) if row.param_bytes else "",
                format_bytes(row.activation_bytes) if row.activation_bytes else "(view)",
                format_bytes(row.cache_bytes) if row.cache_bytes else (
                    "(shared)" if row.cache_kept_bytes else ""),
            ])
            if graph:   # as Keras's summary of a functional model: what each node reads
                body[-1].insert(3, ", ".join(row.inputs or []))
        if graph:
            header.insert(3, "Connected to")
        return header, body

    def _footer(self) -> list[str]:
        other = self.total_params - self.total_weights - self.total_biases
        split = f"{self.total_weights:,} weights + {self.total_biases:,} biases"
        if other:
            split += f" + {other:,} other"
        return [
            f"Input: {_shape(self.input_shape)} {self.dtype}",
            f"Total params: {self.total_params:,} ({split})",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            *([f"Params of layers the forward pass did not call (in the totals): "
               f"{self.unused_params:,}"] if self.unused_params else []),
            f"Mult-adds per example: {self.total_mult_adds:,}",
            f"Memory for this batch (each buffer counted once): input "
            f"{format_bytes(self.input_bytes)}, params {format_bytes(self.param_bytes)}, "
            f"outputs {format_bytes(self.activation_bytes)}, kept for backward "
            f"{format_bytes(self.cache_bytes)}; total {format_bytes(self.total_bytes)} "
            "('(view)', '(shared)': arrays counted on an earlier row)",
            "RF: receptive field size per axis (input pixels one output sees); Jump: distance "
            "in input pixels between neighbouring outputs; Start: centre of the first "
            "output's field (input pixel i has centre i; negative = in the padding).",
        ]

    def __str__(self) -> str:
        header, body = self._cells()
        right = _right_aligned(header)
        widths = [max(len(c) for c in col) for col in zip(header, *body)]

        def line(cells: list[str]) -> str:
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "─" * len(line(header))
        lines = [f"{self.model_type} summary", rule, line(header), rule]
        lines += [line(r) for r in body]
        lines += [rule, *self._footer()]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        header, body = self._cells()

        def esc(cell: str) -> str:
            return cell.replace("|", "\\|") or " "

        lines = [f"**{self.model_type} summary**", "",
                 "| " + " | ".join(header) + " |",
                 "|" + "|".join("---:" if i in _right_aligned(header) else "---"
                                for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in body]
        lines += [""] + [f"- {f}" for f in self._footer()]
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        """The table as HTML, which Jupyter shows when a summary is a cell's value."""
        from convlens.notebook import html_table

        header, body = self._cells()
        return html_table(header, body, f"{self.model_type} summary", self._footer(),
                          _right_aligned(header))

    def __repr__(self) -> str:
        return (f"Summary({self.model_type}, input {self.input_shape}, {len(self.rows)} rows, "
                f"{self.total_params:,} params)")


# -- formatting helpers ----------------------------------------------------------------------
def _right_aligned(header: list[str]) -> set[int]:
    """Columns of numbers (found by name: graph summaries have one more column)."""
    numbers = {"Params", "Mult-adds", "Param mem", "Output mem", "Cache mem"}
    return {i for i, title in enumerate(header) if title in numbers}


def format_bytes(n: int) -> str:
    """``1536 -> '1.5 KiB'``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _axes(values: Sequence[float] | None) -> str:
    """(3, 3) -> '3'; (3, 5) -> '3×5'; None -> ''."""
    if values is None:
        return ""
    if len(set(values)) == 1:
        return _num(values[0])
    return "×".join(_num(v) for v in values)


def _padding(pads: tuple[tuple[int, int], ...] | None) -> str:
    if pads is None:
        return ""
    if all(lo == hi for lo, hi in pads):
        return _axes([lo for lo, _ in pads])
    return "×".join(f"{lo}+{hi}" for lo, hi in pads)


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


# -- measuring -------------------------------------------------------------------------------
def _root(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory ``array`` looks at (itself if it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _arrays(value: Any, seen: set[int] | None = None) -> Iterator[np.ndarray]:
    """Every array reachable from ``value`` through dataclasses, tuples, lists and dicts."""
    seen = set() if seen is None else seen
    if id(value) in seen or isinstance(value, (Module, Parameter)):
        return
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _arrays(getattr(value, f.name), seen)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _arrays(item, seen)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays(item, seen)


def cached_arrays(module: Module) -> list[np.ndarray]:
    """The arrays a layer keeps for its backward pass (its private attributes: ``_cache``,
    ``_shape``, ...), without its parameters and buffers."""
    arrays: list[np.ndarray] = []
    seen: set[int] = set()
    for name, value in vars(module).items():
        if name.startswith("_") and name not in _NOT_CACHE:
            arrays.extend(_arrays(value, seen))
    state = {id(_root(v.data)) for v in vars(module).values() if isinstance(v, Parameter)}
    state |= {id(_root(np.asarray(getattr(module, b)))) for b in module._buffer_names}
    return [a for a in arrays if id(_root(a)) not in state]


class _Ledger:
    """Counts each memory buffer once, on the first row that holds it."""

    def __init__(self) -> None:
        self._seen: dict[int, np.ndarray] = {}  # keeps the roots alive: ids stay unique

    def add(self, arrays: Sequence[np.ndarray]) -> int:
        total = 0
        for array in arrays:
            root = _root(array)
            if id(root) not in self._seen:
                self._seen[id(root)] = root
                total += root.nbytes
        return total


def _geometry(module: Module, x: np.ndarray) -> tuple[Any, Any, Any, Any]:
    """(kernel, stride, padding pairs, dilation) of a sliding-window layer, else Nones."""
    if isinstance(module, _ConvNd):
        pads = resolve_padding(module.padding, x.shape[2:], module.kernel_size, module.stride,
                               module.dilation)
        return module.kernel_size, module.stride, pads, module.dilation
    if isinstance(module, _PoolNd):
        return (module.kernel_size, module.stride, tuple((p, p) for p in module.padding),
                module.dilation)
    return None, None, None, None


def _mult_adds(module: Module, x: np.ndarray, y: np.ndarray) -> int:
    """Multiply-adds of the matrix product, for one example."""
    per_example = y.size // max(y.shape[0], 1)
    if isinstance(module, _ConvNd):
        return per_example * math.prod(module.weight.shape[1:])
    if isinstance(module, Linear):
        return per_example * module.in_features
    if isinstance(module, MatMul):   # (…, m, k) @ (…, k, n): k per output value
        return per_example * x.shape[-1]
    return 0


def _is_row(module: Module) -> bool:
    # Sequential and Graph only run their children: their rows say everything. Other
    # containers (Residual, custom modules) do work of their own (the sum) and get a row
    # after theirs.
    return not isinstance(module, (Sequential, Graph))


def _failure(model: Module, typed: str, err: Exception) -> str:
    """The message for a forward pass that failed: the size as given, then the failing layer."""
    failed = getattr(err, "failed_module", None)
    where = ""
    if failed is not None and failed is not model:
        name = next((n for n, m in model.named_modules() if m is failed), "")
        where = f" at layer {name!r} ({type(failed).__name__})" if name else f" at {type(failed).__name__}"
    return f"summary: {type(model).__name__} cannot take the input size {typed}: it fails{where}: {err}"


def _first_layer(model: Module) -> Module:
    """The first module without children: the one the input reaches first in a Sequential."""
    for _, module in model.named_modules():
        if next(module.children(), None) is None:
            return module
    return model


def input_rank(model: Module) -> int | None:
    """The number of axes, batch included, of the input ``model`` takes, when its first layer
    says so (4 for a ``Conv2d``, 2 for ``Linear`` or ``Embedding``); else None."""
    first = _first_layer(model)
    if isinstance(first, (_ConvNd, _PoolNd, _GlobalPoolNd, _AdaptivePoolNd)):
        return first.ndim + 2
    if isinstance(first, _ChannelNorm):
        ranks = first._accepted_ranks()
        return ranks[0] if len(ranks) == 1 else None
    if isinstance(first, (Linear, Embedding)):
        return 2
    return None


def split_batch(model: Module, input_size: Sequence[int], batch_size: int | None
                ) -> tuple[tuple[int, ...], int]:
    """``(shape without the batch axis, batch size)`` from a size given with or without the
    batch axis: ``(1, 28, 28)`` or, as torchinfo takes it, ``(1, 1, 28, 28)``.

    Which one is read from the rank the model's first layer takes; when it does not say, the
    size has no batch axis.
    """
    try:
        shape = tuple(int(n) for n in input_size)
    except (TypeError, ValueError):
        raise TypeError(f"summary: expected the input size as a tuple of ints such as (1, 28, 28), "
                        f"received {input_size!r}") from None
    typed = str(shape)
    if len(shape) < 1 or any(n < 1 for n in shape):
        raise ValueError(
            f"summary: expected positive sizes (C, *spatial) without the batch axis, e.g. (1, 28, 28), "
            f"or (N, C, *spatial) with it; received {typed}")
    rank = input_rank(model)
    if rank is not None and len(shape) not in (rank - 1, rank):
        first = _first_layer(model)
        layout = first.input_layout
        raise ValueError(
            f"summary: {type(model).__name__} starts with {type(first).__name__}, which takes "
            f"{layout}: expected an input size of {rank - 1} numbers (without the batch axis N) or "
            f"{rank} (with it), received {typed} ({len(shape)} numbers)")
    if rank is not None and len(shape) == rank:
        if batch_size is not None and batch_size != shape[0]:
            raise ValueError(f"summary: the input size {typed} holds the batch size {shape[0]}, "
                             f"but batch_size={batch_size} was given too")
        return shape[1:], shape[0]
    return shape, 1 if batch_size is None else batch_size


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux's MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


#: inputs with more values than this get their memory estimated before they are allocated
LARGE_INPUT_VALUES = 2**22


@contextlib.contextmanager
def left_as_it_was(model: Module) -> Iterator[None]:
    """Restore ``model``'s buffers (batch norm statistics) and every module's private state
    (the caches a forward pass leaves) on leaving."""
    unique = {id(m): m for m in model.modules()}
    saved_state = model.state_dict()
    saved_private = {key: {k: v for k, v in vars(m).items() if k.startswith("_") and k not in _NOT_CACHE}
                     for key, m in unique.items()}
    try:
        yield
    finally:
        model.load_state_dict(saved_state)
        for key, private in saved_private.items():
            for attr, value in private.items():
                setattr(unique[key], attr, value)


def estimate_bytes(model: Module, shape: tuple[int, ...], batch_size: int, dtype: Any) -> int:
    """Memory a forward pass over ``(batch_size, *shape)`` keeps (outputs and caches), measured
    on one example whose axes are cut to at most 32 and scaled by the number of values.

    Convolutions, pooling and element-wise layers keep memory proportional to their input, so
    the scaled figure is close for them; a layer that fails on the small probe ends the
    measurement (what it would have kept is then not counted).
    """
    probe = tuple(min(n, 32) for n in shape)
    first = _first_layer(model)
    if isinstance(first, Embedding):
        x = np.zeros((1, *probe), np.int64)
    else:
        x = np.zeros((1, *probe), dtype)
    kept = [x.nbytes]

    def hook(module: Module, inp: np.ndarray, out: np.ndarray) -> None:
        if next(module.children(), None) is None:
            outputs = out if isinstance(out, tuple) else (out,)   # a layer with several outputs
            kept.append(sum(getattr(o, "nbytes", 0) for o in outputs)
                        + sum(a.nbytes for a in cached_arrays(module)))

    with left_as_it_was(model):
        handles = [m.register_forward_hook(hook) for m in model.modules()]
        try:
            with enable_grad():
                model(x)
        except (ValueError, TypeError, ArithmeticError):
            pass  # measured up to the failing layer; the real pass will report it
        finally:
            for handle in handles:
                handle.remove()
    scale = batch_size * math.prod(shape) / math.prod(probe)
    return int(sum(kept) * scale)


def _other_graph_inputs(model: Module, x: np.ndarray, seed: int) -> list[np.ndarray]:
    """A graph with several inputs: random batches for the inputs after the first (whose
    shape is ``input_shape``), of the shapes its ``cl.Input``s declare."""
    if not isinstance(model, Graph):
        return []
    rng = np.random.default_rng(seed + 1)
    return [rng.standard_normal((len(x), *shape)).astype(x.dtype)
            for shape in model.input_shapes[1:]]


def summary(
    model: Module,
    input_shape: Sequence[int],
    batch_size: int | None = None,
    dtype: Any = None,
    print_table: bool | None = None,
    seed: int = 0,
) -> Summary:
    """Print and return the per-layer table of ``model`` for inputs of ``input_shape``.

    Args:
        model: any convlens module (a network or a single layer).
        input_shape: ``(C, *spatial)`` without the batch axis, e.g. ``(1, 28, 28)``, or with
            it as torchinfo takes it, ``(1, 1, 28, 28)`` (the first layer's rank tells which);
            ``(L,)`` token ids for a model that starts with an ``Embedding``.
        batch_size: examples in the measured batch (memory scales with it; mult-adds are
            reported per example). Default: the batch axis of ``input_shape``, else 1.
        dtype: input dtype (default: the model's parameter dtype, else float32; int64 for
            token ids).
        print_table: print ``str(summary)``; by default yes, except in a Jupyter notebook,
            where the returned summary shows itself as an HTML table.
        seed: seeds the random input (a standard normal batch).

    Returns:
        A :class:`Summary`: ``.rows`` (one :class:`LayerRow` per layer call),
        ``.total_params``, ``.trainable_params``, ``.total_mult_adds``, ``.to_markdown()``.

    Raises:
        ValueError: a size the model cannot take, naming the size as given and the layer that
            failed; an input whose forward pass would need more memory than is available.
    """
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
        raise ValueError(f"summary: batch_size must be an int >= 1, received {batch_size!r}")
    shape, batch_size = split_batch(model, input_shape, batch_size)
    typed = str(tuple(int(n) for n in input_shape))
    params = list(model.named_parameters())
    if dtype is None:
        dtype = params[0][1].dtype if params else np.float32
    if batch_size * math.prod(shape) > LARGE_INPUT_VALUES:
        need, available = estimate_bytes(model, shape, batch_size, dtype), available_memory()
        if available is not None and need > available // 2:
            raise ValueError(
                f"summary: input size {typed} would need about {format_bytes(need)} for the forward "
                f"pass, more than half of the {format_bytes(available)} of memory available; "
                "use a smaller input size")
    first = _first_layer(model)
    if isinstance(first, Embedding):  # token ids: random ids of the vocabulary
        dtype = np.int64
        x = np.random.default_rng(seed).integers(0, first.num_embeddings, (batch_size, *shape))
    else:
        x = np.random.default_rng(seed).standard_normal((batch_size, *shape)).astype(dtype)

    names: dict[int, list[str]] = {}
    for name, module in model.named_modules():
        names.setdefault(id(module), []).append(name)
    nodes = node_calls(model)   # graph layers: a row per node, named and connected as it is
    names.update((key, [name for name, _ in calls]) for key, calls in nodes.items())
    unique = {id(m): m for _, m in model.named_modules()}

    ledger = _Ledger()
    input_bytes = ledger.add([x])
    # parameters: each counted once; buffers (running statistics) counted with them
    param_owner: dict[int, str] = {}
    calls: list[dict[str, Any]] = []
    occurrences: dict[int, int] = {}

    def hook(module: Module, inp: np.ndarray, out: np.ndarray) -> None:
        k = occurrences.get(id(module), 0)
        occurrences[id(module)] = k + 1
        if not _is_row(module):
            return
        own = names[id(module)]
        node = nodes.get(id(module))
        # a merge: its first input; a Constant (no inputs): its own value
        first = (inp[0] if inp else out) if isinstance(inp, (tuple, list)) else inp
        calls.append({"module": module, "occurrence": k, "name": own[k % len(own)],
                      "x_shape": np.shape(first), "x": first, "y": out,
                      "cache": cached_arrays(module),
                      "inputs": None if node is None else node[k % len(node)][1]})

    handles = [m.register_forward_hook(hook) for m in unique.values()]
    # a batch of one example has no batch variance: batch norm in training mode refuses it,
    # so those layers are measured with their running statistics (their eval mode)
    switched = [m for m in unique.values()
                if batch_size == 1 and isinstance(m, _BatchNorm) and m.training]
    # the model is left as it was: buffers (batch norm statistics) and caches
    with left_as_it_was(model):
        try:
            for module in switched:
                module.training = False
            with enable_grad():  # measure what a training step keeps, even inside cl.no_grad()
                model(x, *_other_graph_inputs(model, x, seed))
        except (ValueError, TypeError) as err:
            raise ValueError(_failure(model, typed, err)) from None
        finally:
            for module in switched:
                module.training = True
            for handle in handles:
                handle.remove()

    fields = {(id(r.module), r.occurrence): r.receptive_field
              for r in receptive_fields(model, shape)} if len(shape) >= 2 else {}

    rows: list[LayerRow] = []
    trainable = non_trainable = weights = biases = 0
    param_bytes = activation_bytes = cache_bytes = 0
    param_names: dict[str, int] = {}
    for call in calls:
        layer: Module = call["module"]
        name = call["name"] or type(layer).__name__
        own_params = [(attr, v) for attr, v in vars(layer).items() if isinstance(v, Parameter)]
        count = count_trainable = 0
        shared_with = None
        row_param_bytes = ledger.add([np.asarray(getattr(layer, b))
                                      for b in layer._buffer_names
                                      if isinstance(getattr(layer, b), np.ndarray)])
        for attr, p in own_params:
            if id(p) in param_owner:
                shared_with = param_owner[id(p)]
                continue
            param_owner[id(p)] = name
            param_names[f"{name}.{attr}"] = p.size
            count += p.size
            count_trainable += p.size if p.requires_grad else 0
            weights += p.size if attr == "weight" else 0
            biases += p.size if attr == "bias" else 0
            row_param_bytes += ledger.add([p.data])
        if count:
            shared_with = None
        outputs = call["y"] if isinstance(call["y"], tuple) else (call["y"],)
        y = outputs[0]   # a layer with several outputs: its row shows the first
        act = ledger.add(list(outputs))
        cached = ledger.add(call["cache"])
        kept = sum(r.nbytes for r in {id(r): r for r in map(_root, call["cache"])}.values())
        rf: ReceptiveField | None = fields.get((id(layer), call["occurrence"]))
        if rf is not None and rf.spatial is not None and tuple(y.shape[2:]) != rf.spatial:
            rf = None  # the walk disagrees with what ran: do not show a wrong field
        kernel, stride, pads, dilation = _geometry(layer, call["x"])
        if isinstance(layer, _AdaptivePoolNd) and rf is not None and not rf.whole_input:
            kernel = stride = tuple(n // o for n, o in zip(call["x_shape"][2:], y.shape[2:]))
        rows.append(LayerRow(
            name=name, type=type(layer).__name__, output_shape=tuple(y.shape),
            params=count, trainable=count_trainable, non_trainable=count - count_trainable,
            kernel=kernel, stride=stride, padding=pads, dilation=dilation,
            receptive_field=None if rf is None else rf.size,
            jump=None if rf is None else rf.jump,
            start=None if rf is None else rf.start,
            whole_input=bool(rf is not None and rf.whole_input),
            mult_adds=_mult_adds(layer, call["x"], y),
            param_bytes=row_param_bytes, activation_bytes=act, cache_bytes=cached,
            shared_with=shared_with, cache_kept_bytes=kept, inputs=call["inputs"],
        ))
        trainable += count_trainable
        non_trainable += count - count_trainable
        param_bytes += row_param_bytes
        activation_bytes += act
        cache_bytes += cached
    calls.clear()
    # parameters of layers the forward pass never called still belong to the model
    unused = [p for _, p in params if id(p) not in param_owner]
    for p in unused:
        trainable += p.size if p.requires_grad else 0
        non_trainable += 0 if p.requires_grad else p.size
        param_bytes += ledger.add([p.data])

    result = Summary(
        model_type=type(model).__name__, input_shape=(batch_size, *shape),
        dtype=str(np.dtype(dtype)), rows=rows, total_params=trainable + non_trainable,
        trainable_params=trainable, non_trainable_params=non_trainable,
        total_weights=weights, total_biases=biases, input_bytes=input_bytes,
        param_bytes=param_bytes, activation_bytes=activation_bytes, cache_bytes=cache_bytes,
        param_names=param_names, unused_params=sum(p.size for p in unused),
    )
    if print_table is None:
        print_table = not in_notebook()
    if print_table:
        print(result)
    return result
