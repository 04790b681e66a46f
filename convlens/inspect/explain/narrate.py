"""Turn a recorded training step into an explanation: blocks of text, formulas and arrays.

The narration follows seed 004's hand-worked example ("5. CNN 수식으로 알아보기"): each layer's
input and output; for a convolution every window the kernel visits and each dot product
written out; ReLU's mask; which input won each max-pooling window; softmax and cross-entropy;
then the backward pass layer by layer and the optimizer's update with the values before and
after. Every number comes from the trace (:mod:`.trace`), i.e. from the layers themselves;
the windows are cut from the recorded input with the same ``sliding_windows`` the
convolution uses.

Large models are summarized: arrays with more than ``max_values`` values become one line of
statistics, and dot products, windows and per-element updates are written out only when
there are few of them (the first one serves as an example otherwise).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convlens.functional.activation import softmax
from convlens.functional.conv_arithmetic import resolve_padding
from convlens.functional.padding import pad
from convlens.functional.windows import sliding_windows
from convlens.inspect.explain.blocks import Array, Block, Formula, Heading, Paragraph, Table
from convlens.inspect.explain.graph_nodes import backward_formulas, forward_formula
from convlens.inspect.explain.labels import labels
from convlens.inspect.explain.numbers import (
    DIGITS,
    Digits,
    axes,
    digits_for_change,
    fmt,
    inline,
    matrix,
    max_digits,
    signed,
    statistics,
)
from convlens.inspect.explain.trace import LayerTrace, StepTrace, UpdateTrace
from convlens.layers.activation import ReLU, _Activation
from convlens.layers.container import Residual
from convlens.layers.conv import _ConvNd
from convlens.layers.linear import Linear
from convlens.layers.pool import _PoolNd
from convlens.layers.shape import Flatten, Reshape
from convlens.losses.cross_entropy import CrossEntropyLoss

MAX_TERMS = 27          # longest dot product written out term by term (3 channels × 3×3)
CORNERS: dict[tuple[int, ...], str] = {(0, 0): "corner_tl", (0, 1): "corner_tr",
                                       (1, 0): "corner_bl", (1, 1): "corner_br"}


def _pairs(pads: Any) -> tuple[tuple[int, int], ...]:
    return tuple((int(lo), int(hi)) for lo, hi in pads)


def conv_windows(layer: LayerTrace) -> tuple[np.ndarray, tuple[tuple[int, int], ...]]:
    """Every window the kernel visits, (N, C, *O, *K), cut from the recorded input with the
    convolution's own ``sliding_windows``; and the ``(before, after)`` padding per axis."""
    m: Any = layer.module
    pads = _pairs(resolve_padding(m.padding, layer.x.shape[2:], m.kernel_size, m.stride,
                                  m.dilation))
    xp = pad(layer.x, pads, m.padding_mode)
    return sliding_windows(xp, m.kernel_size, m.stride, m.dilation), pads


def pool_winners(layer: LayerTrace) -> tuple[np.ndarray, np.ndarray | None, Any]:
    """(windows (N, C, *O, *K), flat index of each window's winning tap, pads) of a pooling
    call; the winner is the one the layer kept in its cache when it kept one (``None`` for
    average pooling)."""
    m: Any = layer.module
    cache = layer.cache
    pads = getattr(cache, "pads", None)
    if pads is None:
        pads = tuple((p, p) for p in m.padding)
    fill = {"max": -np.inf, "min": np.inf, "avg": 0.0}[m.kind]
    xp = pad(layer.x, _pairs(pads), "zeros", value=fill)
    windows = sliding_windows(xp, m.kernel_size, m.stride, m.dilation)
    keep = (Ellipsis,) + tuple(slice(0, o) for o in layer.y.shape[2:]) + (slice(None),) * m.ndim
    windows = windows[keep]
    winner = getattr(cache, "winner", None)
    if winner is None and m.kind != "avg":
        flat = windows.reshape(*windows.shape[:2 + m.ndim], -1)
        winner = flat.argmax(-1) if m.kind == "max" else flat.argmin(-1)
    return windows, winner, pads


class Narrator:
    """Builds the list of blocks for one :class:`StepTrace`."""

    def __init__(self, trace: StepTrace, lang: str = "en", max_values: int = 64,
                 max_dot_products: int = 16, max_layers: int = 40) -> None:
        self.trace = trace
        self.lang = lang
        self.text = labels(lang)
        self.max_values = max_values
        self.max_dot_products = max_dot_products
        self.max_layers = max_layers
        self.blocks: list[Block] = []
        # graph models: which nodes read each tensor (a tensor read twice gets two entries)
        self.readers: dict[str, list[str]] = {}
        for record in trace.layers:
            for name in record.inputs or []:
                self.readers.setdefault(name, []).append(record.name)

    # -- helpers -------------------------------------------------------------------------
    def t(self, label: str, /, **values: Any) -> str:
        return self.text[label].format(**values)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def array(self, label: str, a: np.ndarray, digits: Digits = DIGITS) -> None:
        """Show ``a`` in full when small, else one line of statistics."""
        a = np.asarray(a)
        if a.size > self.max_values:
            self.add(Array(label, self.t("summarized", stats=statistics(a))))
        elif a.ndim <= 2:
            self.add(Array(label, matrix(a, digits)))
        else:
            d = np.broadcast_to(np.asarray(digits), a.shape)
            if all(n == 1 for n in a.shape[:-2]):
                self.add(Array(f"{label} {a.shape}", matrix(a.reshape(a.shape[-2:]),
                                                            d.reshape(a.shape[-2:]))))
                return
            for idx in np.ndindex(*a.shape[:-2]):
                self.add(Array(f"{label}[{', '.join(map(str, idx))}]", matrix(a[idx], d[idx])))

    def position(self, pos: tuple[int, ...], grid: tuple[int, ...]) -> str:
        """``(1, 0)``, with the corner's name when the grid is 2×2 (as the seed names them)."""
        text = "(" + ", ".join(map(str, pos)) + ")"
        if grid == (2, 2):
            text += " " + self.t(CORNERS[pos])
        return text

    @staticmethod
    def describe(module: Any) -> str:
        return f"{type(module).__name__}({module.extra_repr()})"

    # -- the whole step --------------------------------------------------------------------
    def narrate(self) -> list[Block]:
        trace = self.trace
        loss_fn = trace.loss.loss_fn
        target = trace.target
        target_text = inline(target) if target.size <= 16 else str(target.shape)
        self.add(Heading(self.t("title"), 1))
        self.add(Paragraph(self.t("intro", model=type(trace.model).__name__,
                                  shape=trace.x.shape, target=target_text,
                                  loss=repr(loss_fn), optimizer=repr(trace.optimizer))))
        n_params = sum(p.size for p in trace.model.parameters())
        if n_params > 4 * self.max_values or trace.x.size > self.max_values:
            self.add(Paragraph(self.t("big_model", max_values=self.max_values)))
        big = len(trace.layers) > self.max_layers
        if big:
            self.add(Paragraph(self.t("big_graph", n=len(trace.layers),
                                      max_layers=self.max_layers)))
        self.add(Heading(self.t("forward"), 2))
        if big:
            self.forward_table()
        else:
            for layer in trace.layers:
                self.forward(layer)
        self.loss()
        self.add(Heading(self.t("backward"), 2))
        self.loss_gradient()
        if big:
            self.backward_table()
        else:
            for layer in reversed(trace.layers):
                self.backward(layer)
        self.add(Heading(self.t("update"), 2))
        self.update_rule()
        for update in trace.updates:
            self.update(update)
        self.compare()
        return self.blocks

    # -- large models: one table per pass ----------------------------------------------------
    def forward_table(self) -> None:
        rows = [[layer.name, layer.type, ", ".join(layer.inputs or []), statistics(layer.y)]
                for layer in self.trace.layers]
        self.add(Table([self.t("col_layer"), self.t("col_type"), self.t("col_inputs"),
                        self.t("output")], rows))

    def backward_table(self) -> None:
        rows = [[layer.name, layer.type, "" if layer.dy is None else statistics(layer.dy)]
                for layer in reversed(self.trace.layers)]
        self.add(Table([self.t("col_layer"), self.t("col_type"), self.t("dy")], rows))

    # -- graph nodes ------------------------------------------------------------------------
    @staticmethod
    def input_names(layer: LayerTrace) -> list[str]:
        if layer.inputs is not None:
            return layer.inputs
        count = len(layer.x) if isinstance(layer.x, tuple) else 1
        return [f"x{i + 1}" for i in range(count)]

    def merge_forward(self, layer: LayerTrace) -> None:
        """A join of a graph (or a constant): its formula in the tensors' names, its inputs."""
        names = self.input_names(layer)
        self.add(Formula(forward_formula(layer.module, names, layer.x)))
        for name, x in zip(names, layer.x):
            self.array(name, x)

    def merge_backward(self, layer: LayerTrace) -> None:
        names = self.input_names(layer)
        for line in backward_formulas(layer.module, names):
            self.add(Formula(line))
        for attr, grad in layer.grads.items():   # a trainable constant
            self.array(f"dL/d{attr}", grad)
        for name, dx in zip(names, layer.dx or ()):
            if dx is not None:
                self.array(f"dL/d{name}", dx)

    # -- forward ---------------------------------------------------------------------------
    def forward(self, layer: LayerTrace) -> None:
        m: Any = layer.module
        self.add(Heading(self.t("layer", name=layer.name, desc=self.describe(m)), 3))
        if layer.inputs:
            self.add(Paragraph(self.t("node_inputs", inputs=", ".join(layer.inputs))))
        if m.num_inputs != 1:
            self.merge_forward(layer)
        elif isinstance(m, _ConvNd):
            self.conv_forward(layer)
        elif isinstance(m, ReLU):
            self.relu_forward(layer)
        elif isinstance(m, _PoolNd):
            self.pool_forward(layer)
        elif isinstance(m, (Flatten, Reshape)):
            self.add(Paragraph(self.t("flatten", before=layer.x.shape, after=layer.y.shape)))
        elif isinstance(m, Linear):
            self.linear_forward(layer)
        elif isinstance(m, Residual):
            self.add(Formula(self.t("residual_formula")))
        elif isinstance(m, _Activation):
            doc = (type(m).__doc__ or "").strip().splitlines()[0]
            self.add(Formula(self.t("activation_formula", doc=doc)))
            self.array(self.t("input"), layer.x)
        else:
            self.add(Paragraph(self.t("generic_forward", type=type(m).__name__,
                                      before=layer.x.shape, after=layer.y.shape)))
        self.array(self.t("output"), layer.y)

    def conv_windows(self, layer: LayerTrace) -> tuple[np.ndarray, tuple[tuple[int, int], ...]]:
        return conv_windows(layer)

    def window_location(self, pos: tuple[int, ...], pads: Any, kernel: tuple[int, ...],
                        stride: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[str, ...]:
        spans = []
        for i, (lo, _), k, s, d in zip(pos, pads, kernel, stride, dilation):
            first = i * s - lo
            spans.append(f"{first}…{first + d * (k - 1)}")
        return tuple(spans)

    def dot_product(self, window: np.ndarray, weight: np.ndarray, bias: float | None,
                    value: float) -> str:
        """``(1·1 + 2·0 + 0·1) + (3·0 + …) + 1 = 5``: one group per kernel row."""
        rows = window.reshape(-1, window.shape[-1])
        wrows = weight.reshape(-1, weight.shape[-1])
        groups = ["(" + " + ".join(f"{signed(a)}·{signed(b)}" for a, b in zip(xr, wr)) + ")"
                  for xr, wr in zip(rows, wrows)]
        text = " + ".join(groups)
        if bias is not None:
            text += f" + {signed(bias)}"
        return f"{text} = {fmt(value)}"

    def conv_forward(self, layer: LayerTrace) -> None:
        m: Any = layer.module
        x, y = layer.x, layer.y
        windows, pads = self.conv_windows(layer)
        pad_text = axes([lo for lo, _ in pads]) if all(
            lo == hi for lo, hi in pads) else str(pads)
        self.add(Formula(self.t("conv_formula", stride=axes(m.stride),
                                dilation=axes(m.dilation), padding=pad_text)))
        self.array(self.t("input"), x)
        self.array(self.t("weight"), layer.params["weight"])
        if m.bias is not None:
            self.array(self.t("bias"), layer.params["bias"])
        out = y.shape[2:]
        c_out = y.shape[1]
        c_group = m.weight.shape[1]
        per_group = c_out // m.groups
        positions = math.prod(out)
        terms = c_group * math.prod(m.kernel_size)
        count = c_out * positions
        kernel_text = "×".join(map(str, m.kernel_size))
        if count <= self.max_dot_products and terms <= MAX_TERMS:
            self.add(Paragraph(self.t("conv_slide", k=kernel_text)))
            shown = [(o, pos) for o in range(c_out) for pos in np.ndindex(*out)]
        elif terms <= 2 * MAX_TERMS:
            self.add(Paragraph(self.t("conv_many", count=count, terms=terms, filters=c_out,
                                      positions=positions)))
            shown = [(0, (0,) * len(out))]
        else:
            self.add(Paragraph(self.t("conv_too_many_terms", count=count, terms=terms,
                                      filters=c_out, positions=positions)))
            shown = []
        if x.shape[0] > 1 and shown:
            self.add(Paragraph(self.t("example_only", n=x.shape[0])))
        for o, pos in shown:
            g = o // per_group
            window = windows[(0, slice(g * c_group, (g + 1) * c_group)) + pos]
            bias = None if m.bias is None else float(layer.params["bias"][o])
            spans = self.window_location(pos, pads, m.kernel_size, m.stride, m.dilation)
            where = (self.t("window_at", pos=self.position(pos, out), rows=spans[0],
                            cols=spans[1]) if len(out) == 2 else
                     self.t("window_at_1d", pos=self.position(pos, out), rows=", ".join(spans)))
            if c_out > 1:
                where = f"{self.t('filter', o=o)}, {where}"
            if len(out) == 2 and c_group == 1:
                self.add(Array(where, matrix(window[0])))
            else:
                self.add(Paragraph(where))
            self.add(Formula(self.dot_product(window, layer.params["weight"][o], bias,
                                              float(y[(0, o) + pos]))))

    def relu_forward(self, layer: LayerTrace) -> None:
        self.add(Formula(self.t("relu_formula")))
        mask = layer.cache if isinstance(layer.cache, np.ndarray) and \
            layer.cache.shape == layer.x.shape else layer.x > 0
        self.array(self.t("input"), layer.x)
        if mask.all():
            self.add(Paragraph(self.t("relu_all_positive")))
        else:
            self.array(self.t("mask"), mask.astype(np.int8))
            self.add(Paragraph(self.t("relu_zeroed", count=int((~mask).sum()),
                                      total=mask.size)))

    def pool_winners(self, layer: LayerTrace) -> tuple[np.ndarray, np.ndarray | None, Any]:
        return pool_winners(layer)

    def where(self, pos: tuple[int, ...], tap_index: int, layer: LayerTrace, pads: Any) -> str:
        m: Any = layer.module
        tap = np.unravel_index(int(tap_index), m.kernel_size)
        coords = tuple(int(i * s + t * d - lo) for i, s, t, d, (lo, _) in
                       zip(pos, m.stride, tap, m.dilation, pads))
        text = "(" + ", ".join(map(str, coords)) + ")"
        if tuple(m.kernel_size) == (2, 2):
            text += " " + self.t(CORNERS[tuple(int(t) for t in tap)])
        return text

    def pool_forward(self, layer: LayerTrace) -> None:
        m: Any = layer.module
        kind = self.t(f"pool_kind_{m.kind}")
        self.add(Formula(self.t("pool_formula", kind=kind, k="×".join(map(str, m.kernel_size)),
                                stride=axes(m.stride))))
        self.array(self.t("input"), layer.x)
        windows, winner, pads = self.pool_winners(layer)
        out = layer.y.shape[2:]
        count = layer.y.shape[1] * math.prod(out)
        if count > self.max_dot_products:
            self.add(Paragraph(self.t("pool_many", count=count)))
            return
        for c in range(layer.y.shape[1]):
            for pos in np.ndindex(*out):
                window = windows[(0, c) + pos]
                value = float(layer.y[(0, c) + pos])
                where = "" if winner is None else self.where(pos, winner[(0, c) + pos], layer, pads)
                label = self.position(pos, out) if layer.y.shape[1] == 1 else \
                    f"{self.t('filter', o=c)} {self.position(pos, out)}"
                text = self.t("pool_window", pos=label, values=inline(window), kind=kind,
                              value=fmt(value), where=where)
                if winner is None:
                    text = text.split(" → ")[0] + f" → {kind} {fmt(value)}"
                self.add(Formula(text))

    def linear_forward(self, layer: LayerTrace) -> None:
        m: Any = layer.module
        w = layer.params["weight"]
        self.add(Formula(self.t("linear_formula", shape=w.shape)))
        self.array(self.t("input"), layer.x)
        self.array(self.t("weight"), w)
        if m.bias is not None:
            self.array(self.t("bias"), layer.params["bias"])
        if m.in_features <= 16 and m.out_features <= 16:
            x0 = layer.x.reshape(-1, m.in_features)[0]
            y0 = layer.y.reshape(-1, m.out_features)[0]
            if layer.x.shape[0] > 1:
                self.add(Paragraph(self.t("example_only", n=layer.x.shape[0])))
            lines = []
            for k in range(m.out_features):
                terms = " + ".join(f"{signed(a)}·{signed(b)}" for a, b in zip(x0, w[k]))
                if m.bias is not None:
                    terms += f" + {signed(layer.params['bias'][k])}"
                lines.append(f"y_{k} = {terms} = {fmt(y0[k])}")
            self.add(Formula("\n".join(lines)))

    # -- loss ------------------------------------------------------------------------------
    def loss(self) -> None:
        loss = self.trace.loss
        fn = loss.loss_fn
        z = loss.prediction
        ce = (isinstance(fn, CrossEntropyLoss) and z.ndim == 2 and fn.weight is None
              and fn.label_smoothing == 0)
        self.add(Heading(self.t("loss_section" if ce else "loss_generic"), 3))
        if not ce:
            doc = (type(fn).__doc__ or type(fn).__name__).strip().splitlines()[0]
            self.add(Paragraph(self.t("loss_generic_formula", doc=doc)))
            self.array(self.t("output"), z)
            self.array(self.t("target"), loss.target)
            self.add(Formula(self.t("loss_value", value=fmt(loss.value))))
            return
        self.array(self.t("logits"), z)
        self.add(Formula(self.t("softmax_formula")))
        p = softmax(z.astype(np.float64), axis=1)
        if z.size <= self.max_values and z.shape[0] <= 4:
            shifted = np.abs(z).max() > 80
            lines = []
            for n in range(z.shape[0]):
                row = z[n] - (z[n].max() if shifted else 0)
                e = np.exp(row.astype(np.float64))
                lines.append(",  ".join(f"e^{signed(v)} = {fmt(ev)}" for v, ev in zip(row, e))
                             + f";  {self.t('sum')} = {fmt(e.sum())}")
            self.add(Paragraph(self.t("exp_shifted" if shifted else "exp")))
            self.add(Formula("\n".join(lines)))
        self.array(self.t("probs"), p)
        self.add(Formula(self.t("ce_formula", n=z.shape[0])))
        target = np.asarray(loss.target)
        self.array(self.t("target"), target)
        if z.shape[0] <= 4 and z.shape[1] <= 16:
            lines = []
            for n in range(z.shape[0]):
                if np.issubdtype(target.dtype, np.integer):
                    k = int(target[n])
                    lines.append(f"L_{n} = −log p[{n}, {k}] = −log({fmt(p[n, k])}) = "
                                 f"{fmt(-np.log(p[n, k]))}")
                else:
                    terms = " + ".join(f"{signed(q)}·log({fmt(pk)})"
                                       for q, pk in zip(target[n], p[n]))
                    value = -np.sum(np.where(target[n] != 0, target[n] * np.log(p[n]), 0.0))
                    lines.append(f"L_{n} = −({terms}) = {fmt(value)}")
            self.add(Formula("\n".join(lines)))
        self.add(Formula(self.t("loss_value", value=fmt(loss.value))))

    def loss_gradient(self) -> None:
        loss = self.trace.loss
        fn = loss.loss_fn
        self.add(Heading(self.t("dz"), 3))
        z = loss.prediction
        if isinstance(fn, CrossEntropyLoss) and z.ndim == 2 and fn.weight is None \
                and fn.label_smoothing == 0:
            self.add(Formula(self.t("dz_formula")))
            target = np.asarray(loss.target)
            if np.issubdtype(target.dtype, np.integer):
                target = np.eye(z.shape[1])[target]
            p = softmax(z.astype(np.float64), axis=1)
            if z.shape[0] == 1 and z.shape[1] <= 16:
                diff = ", ".join(f"{fmt(a)} − {fmt(b)}" for a, b in zip(p[0], target[0]))
                self.add(Formula(f"[{diff}] = {inline(loss.grad[0])}"))
        self.array(self.t("dz"), loss.grad)

    # -- backward --------------------------------------------------------------------------
    def backward(self, layer: LayerTrace) -> None:
        m: Any = layer.module
        self.add(Heading(self.t("layer", name=layer.name, desc=self.describe(m)), 3))
        if layer.dy is None:
            return
        readers = self.readers.get(layer.name, [])
        if len(readers) > 1:   # fan-out: the chain rule adds what every reader sends back
            self.add(Paragraph(self.t("fan_out", name=layer.name, n=len(readers),
                                      nodes=", ".join(readers))))
        self.array(self.t("dy"), layer.dy)
        if m.num_inputs != 1:
            self.merge_backward(layer)
            return
        if isinstance(m, Linear):
            self.linear_backward(layer)
        elif isinstance(m, _ConvNd):
            self.conv_backward(layer)
        elif isinstance(m, ReLU):
            self.add(Formula(self.t("relu_back")))
            if (layer.x > 0).all():
                self.add(Paragraph(self.t("relu_back_all")))
            else:
                self.array(self.t("mask"), (layer.x > 0).astype(np.int8))
        elif isinstance(m, _PoolNd):
            self.pool_backward(layer)
        elif isinstance(m, (Flatten, Reshape)):
            self.add(Paragraph(self.t("flatten_back", shape=layer.x.shape)))
        elif isinstance(m, Residual):
            self.add(Formula(self.t("residual_back")))
        else:
            for attr, grad in layer.grads.items():
                self.array(f"dL/d{attr}", grad)
            if not layer.grads:
                self.add(Paragraph(self.t("generic_back", type=type(m).__name__)))
        if layer.dx is not None:
            self.array(self.t("dx"), layer.dx)

    def linear_backward(self, layer: LayerTrace) -> None:
        m: Any = layer.module
        w = layer.params["weight"]
        x2 = layer.x.reshape(-1, m.in_features)
        assert layer.dy is not None
        dy2 = layer.dy.reshape(-1, m.out_features)
        small = x2.shape[0] == 1 and m.in_features <= 16 and m.out_features <= 16
        self.add(Formula(self.t("linear_dw")))
        if small:
            self.add(Formula("\n".join(
                f"dL/dW[{k}, {i}] = {signed(dy2[0, k])}·{signed(x2[0, i])} = "
                f"{fmt(layer.grads['weight'][k, i])}"
                for k in range(m.out_features) for i in range(m.in_features))))
        self.array(self.t("dw"), layer.grads["weight"])
        if "bias" in layer.grads:
            self.add(Formula(self.t("linear_db")))
            self.array(self.t("db"), layer.grads["bias"])
        if layer.dx is not None:
            self.add(Formula(self.t("linear_dx")))
            if small:
                dx2 = layer.dx.reshape(-1, m.in_features)
                self.add(Formula("\n".join(
                    f"dL/dx_{i} = " + " + ".join(f"{signed(dy2[0, k])}·{signed(w[k, i])}"
                                                 for k in range(m.out_features))
                    + f" = {fmt(dx2[0, i])}" for i in range(m.in_features))))

    def conv_backward(self, layer: LayerTrace) -> None:
        m: Any = layer.module
        dy = layer.dy
        assert dy is not None
        out = dy.shape[2:]
        c_out = dy.shape[1]
        c_group = m.weight.shape[1]
        per_group = c_out // m.groups
        terms = c_group * math.prod(m.kernel_size)
        count = c_out * math.prod(out)
        small = count <= self.max_dot_products and terms <= MAX_TERMS
        if "bias" in layer.grads:
            self.add(Formula(self.t("conv_db")))
            if small and dy.shape[0] == 1:
                self.add(Formula("\n".join(
                    f"dL/db[{o}] = " + " + ".join(signed(v) for v in dy[0, o].reshape(-1))
                    + f" = {fmt(layer.grads['bias'][o])}" for o in range(c_out))))
            self.array(self.t("db"), layer.grads["bias"])
        self.add(Paragraph(self.t("conv_dw")))
        if small:
            windows, _ = self.conv_windows(layer)
            if dy.shape[0] > 1:
                self.add(Paragraph(self.t("example_only", n=dy.shape[0])))
            skipped = False
            for o in range(c_out):
                g = o // per_group
                for pos in np.ndindex(*out):
                    value = float(dy[(0, o) + pos])
                    if value == 0:
                        skipped = True
                        continue
                    window = windows[(0, slice(g * c_group, (g + 1) * c_group)) + pos]
                    where = self.position(pos, out)
                    if c_out > 1:
                        where = f"{self.t('filter', o=o)}, {where}"
                    shown = window[0] if c_group == 1 else window
                    self.add(Formula(self.t("dw_term", value=signed(value), where=where,
                                            window=inline(shown))))
            if skipped:
                self.add(Paragraph(self.t("conv_dw_zero")))
        self.array(self.t("dw"), layer.grads["weight"])
        if layer.dx is not None:
            self.add(Paragraph(self.t("conv_dx")))

    def pool_backward(self, layer: LayerTrace) -> None:
        m: Any = layer.module
        dy = layer.dy
        assert dy is not None
        if m.kind == "avg":
            self.add(Paragraph(self.t("pool_back_avg", count=math.prod(m.kernel_size))))
            return
        kind = self.t(f"pool_kind_{m.kind}")
        self.add(Paragraph(self.t("pool_back_max", kind=kind)))
        _, winner, pads = self.pool_winners(layer)
        out = dy.shape[2:]
        if winner is None or dy.shape[1] * math.prod(out) > self.max_dot_products:
            return
        lines = []
        for c in range(dy.shape[1]):
            for pos in np.ndindex(*out):
                label = self.position(pos, out) if dy.shape[1] == 1 else \
                    f"[{c}]{self.position(pos, out)}"
                lines.append(self.t("pool_back_route", pos=label, value=fmt(dy[(0, c) + pos]),
                                    where=self.where(pos, winner[(0, c) + pos], layer, pads)))
        self.add(Formula("\n".join(lines)))

    # -- update ----------------------------------------------------------------------------
    def plain_sgd(self) -> bool:
        from convlens.optim.sgd import SGD

        opt = self.trace.optimizer
        return isinstance(opt, SGD) and not opt.momentum and not opt.weight_decay

    def update_rule(self) -> None:
        from convlens.optim.adam import Adam
        from convlens.optim.sgd import SGD

        opt = self.trace.optimizer
        self.add(Paragraph(self.t("update_intro", optimizer=repr(opt))))
        lr = fmt(opt.lr)
        if isinstance(opt, SGD):
            if opt.weight_decay:
                self.add(Formula(self.t("weight_decay_rule", wd=fmt(opt.weight_decay))))
            if not opt.momentum:
                self.add(Formula(self.t("sgd_rule", lr=lr)))
            elif opt.nesterov:
                self.add(Formula(self.t("sgd_nesterov_rule", lr=lr, momentum=fmt(opt.momentum))))
            else:
                self.add(Formula(self.t("sgd_momentum_rule", lr=lr, momentum=fmt(opt.momentum))))
        elif isinstance(opt, Adam):
            if opt.weight_decay:
                self.add(Formula(self.t("weight_decay_rule", wd=fmt(opt.weight_decay))))
            b1, b2 = opt.betas
            self.add(Formula(self.t("adam_rule", lr=lr, b1=fmt(b1), b2=fmt(b2), eps=fmt(opt.eps),
                                    t=opt.step_count)))
        else:
            self.add(Paragraph(self.t("generic_rule", optimizer=type(opt).__name__)))

    def update(self, u: UpdateTrace) -> None:
        self.add(Heading(f"{u.name} {u.before.shape}", 4))
        digits = digits_for_change(u.before, u.after, max_digits(u.after.dtype))
        lr = self.trace.optimizer.lr
        if self.plain_sgd() and u.before.size <= 4:
            self.add(Formula("\n".join(
                f"{fmt(b)} − {fmt(lr)}·{signed(g)} = {fmt(a, int(d))}"
                for b, g, a, d in zip(u.before.reshape(-1), u.grad.reshape(-1),
                                      u.after.reshape(-1), digits.reshape(-1)))))
            return
        if u.before.size > self.max_values:
            change = np.abs(u.after.astype(np.float64) - u.before)
            self.add(Formula(f"{self.t('before')}: {statistics(u.before)}\n"
                             f"{self.t('after')}: {statistics(u.after)}\n"
                             f"{self.t('max_changes', value=fmt(change.max()))}"))
            return
        self.array(self.t("before"), u.before)
        self.array(self.t("gradient"), u.grad)
        for key, value in u.state.items():
            if np.asarray(value).size > 1 or key != "step":
                self.array(self.t("state", key=key), value)
        self.array(self.t("after"), u.after, digits)

    def compare(self) -> None:
        updates = self.trace.updates
        if not updates or sum(u.before.size for u in updates) > self.max_values:
            return
        self.add(Heading(self.t("compare"), 2))
        rows = []
        for u in updates:
            digits = digits_for_change(u.before, u.after, max_digits(u.after.dtype))
            before, after = u.before, u.after
            while before.ndim > 2 and before.shape[0] == 1:  # (1, 1, 3, 3): show the 3×3
                before, after, digits = before[0], after[0], digits[0]
            rows.append([u.name, inline(before), inline(after, digits)])
        self.add(Table([self.t("param"), self.t("before"), self.t("after")], rows))


def narrate(trace: StepTrace, lang: str = "en", max_values: int = 64,
            max_dot_products: int = 16, max_layers: int = 40) -> list[Block]:
    """The explanation of ``trace`` as blocks (see :mod:`.render` to turn them into text).
    With more than ``max_layers`` layer calls each pass becomes one table (a row per call)."""
    return Narrator(trace, lang, max_values, max_dot_products, max_layers).narrate()
