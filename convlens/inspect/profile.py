"""Per-layer timing: where does a training step spend its time?

    with LayerProfiler(model) as prof:
        train_for_a_while()
    print(prof.table())

While active, every leaf layer's ``forward`` and ``backward`` is wrapped (on the instance,
removed on exit) to add its wall time to a counter. The table gives, per layer, the
milliseconds per call of each direction and its share of all the time spent in layers.
The layers of a graph model get a row per node, named as the node: a layer shared by two
nodes is timed separately for each (the graph says which node is running).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from convlens.layers.graph import Graph
from convlens.layers.module import Module


@dataclass
class LayerTiming:
    name: str
    kind: str
    forward_s: float = 0.0
    backward_s: float = 0.0
    forward_calls: int = 0
    backward_calls: int = 0

    @property
    def total_s(self) -> float:
        return self.forward_s + self.backward_s


class LayerProfiler:
    """Context manager timing each leaf layer of ``model``."""

    def __init__(self, model: Module) -> None:
        self.model = model
        self.timings: list[LayerTiming] = []

    def __enter__(self) -> LayerProfiler:
        self.timings = []
        per_node = self._graph_layers()
        for name, module in self.model.named_modules():
            if any(True for _ in module.children()):
                continue  # containers: their children are timed
            if id(module) in per_node:
                graph, prefix, nodes = per_node[id(module)]
                rows = {node: LayerTiming(f"{prefix}{node}", type(module).__name__)
                        for node in nodes}
                self.timings.extend(rows.values())

                def pick(graph: Graph = graph, rows: dict[str, LayerTiming] = rows,
                         first: LayerTiming = rows[nodes[0]]) -> LayerTiming:
                    node = graph.running_node   # None: the layer was called on its own
                    return first if node is None else rows.get(node.name, first)
            else:
                timing = LayerTiming(name or type(module).__name__, type(module).__name__)
                self.timings.append(timing)

                def pick(timing: LayerTiming = timing) -> LayerTiming:
                    return timing
            module.forward = self._timed(module.forward, pick, "forward")  # type: ignore[method-assign]
            module.backward = self._timed(module.backward, pick, "backward")  # type: ignore[method-assign]
        return self

    def _graph_layers(self) -> dict[int, tuple[Graph, str, list[str]]]:
        """``id(layer) -> (graph, name prefix, its nodes)`` for the layers of graph models."""
        found: dict[int, tuple[Graph, str, list[str]]] = {}
        for prefix, module in self.model.named_modules():
            if isinstance(module, Graph):
                for node in module.nodes:
                    entry = found.setdefault(id(node.layer),
                                             (module, f"{prefix}." if prefix else "", []))
                    entry[2].append(node.name)
        return found

    def __exit__(self, *exc: object) -> None:
        for module in self.model.modules():
            vars(module).pop("forward", None)
            vars(module).pop("backward", None)

    @staticmethod
    def _timed(method: Any, pick: Callable[[], LayerTiming], direction: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                timing = pick()
                if direction == "forward":
                    timing.forward_s += elapsed
                    timing.forward_calls += 1
                else:
                    timing.backward_s += elapsed
                    timing.backward_calls += 1

        return wrapper

    def table(self) -> str:
        """A text table: ms per call forward/backward and share of total layer time."""
        total = sum(t.total_s for t in self.timings) or 1.0
        width = max([len(f"{t.name} {t.kind}") for t in self.timings] + [5])
        lines = [f"{'layer':<{width}}  {'fwd ms':>8}  {'bwd ms':>8}  {'share':>6}"]
        for t in self.timings:
            fwd = 1e3 * t.forward_s / max(t.forward_calls, 1)
            bwd = 1e3 * t.backward_s / max(t.backward_calls, 1)
            label = f"{t.name} {t.kind}"
            lines.append(f"{label:<{width}}  {fwd:8.3f}  {bwd:8.3f}  {100 * t.total_s / total:5.1f}%")
        lines.append(f"{'all layers':<{width}}  {1e3 * total:8.1f} ms in total")
        return "\n".join(lines)
