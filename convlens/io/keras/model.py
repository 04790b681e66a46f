"""Keras model configs -> convlens models: the walker shared by the three file formats.

A Keras ``Sequential`` becomes a ``cl.Sequential``; a functional model (``Functional`` /
``Model``, with branches, ``Add`` or ``Concatenate``) becomes a ``cl.Graph``. Both Keras 3
configs (``batch_shape``, inbound nodes as ``{"args": [keras tensors]}``) and Keras 2 configs
(``batch_input_shape``, inbound nodes as ``[[name, node, tensor, kwargs]]``, as in
TensorFlow.js files) are read. Each layer goes through :data:`convlens.io.keras.layers.CONVERTERS`.

A model used as a layer of another (a data-augmentation ``Sequential``, a feature extractor)
becomes a child ``cl.Sequential`` / ``cl.Graph`` of the outer model. Its layers' weights are
asked for by their path, ``"<inner model>/<layer>"``; each file format resolves paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import convlens.layers as L
from convlens.io.keras import preprocessing, reshaping  # noqa: F401 (register their converters)
from convlens.io.keras.layers import CONVERTERS, Converted, KerasLayerError, Tensor, shape_of
from convlens.layers.module import Module

WeightSource = Callable[[str], list[np.ndarray]]
"""``weights(layer_path)``: that layer's arrays in Keras's order (empty when it has none); the
path is the layer's name, after the names of the models it is nested in (``"feat/conv"``)."""

_IGNORED = {"InputLayer"}
MODEL_CLASSES = ("Sequential", "Functional", "Model")
MAX_INPUT_VALUES = 2**26
"""Shapes are worked out by running the layers on one example of zeros: a config asking for
a larger input (a damaged or hostile file) is refused instead of filling the memory."""


def _unwrap(config: dict[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    if "model_config" in config and isinstance(config["model_config"], dict):   # tfjs topology
        config = config["model_config"]
    if not (isinstance(config, dict) and "class_name" in config and isinstance(config.get("config"), dict)):
        raise KerasLayerError(f"{where}: expected a Keras model config {{'class_name', 'config'}}, "
                              f"received {type(config).__name__}")
    return str(config["class_name"]), config["config"]


def _channels_first(shape: list[Any] | tuple[Any, ...], where: str) -> tuple[int, ...]:
    dims = list(shape)[1:]                            # drop the batch axis
    if any(d is None for d in dims) or not dims:
        raise KerasLayerError(f"{where}: the model's input shape {list(shape)} must be fixed "
                              "(every axis but the batch known) to build a convlens model")
    dims = [int(d) for d in dims]
    if min(dims) < 1 or int(np.prod(dims, dtype=np.float64)) > MAX_INPUT_VALUES:
        raise KerasLayerError(f"{where}: the input shape {list(shape)} is not a size convlens can "
                              f"build (every axis ≥ 1, at most {MAX_INPUT_VALUES:,} values per example)")
    return tuple(dims) if len(dims) == 1 else (dims[-1], *dims[:-1])


def _input_shape(config: dict[str, Any]) -> list[Any] | None:
    for key in ("batch_shape", "batch_input_shape"):
        if config.get(key) is not None:
            return list(config[key])
    return None


def check_supported(layers: list[dict[str, Any]], where: str) -> None:
    """One error naming every layer whose class has no converter."""
    missing = [f"{spec.get('config', {}).get('name', '?')} ({spec.get('class_name')})"
               for spec in _all_layers(layers) if spec.get("class_name") not in CONVERTERS
               and spec.get("class_name") not in _IGNORED]
    if missing:
        raise KerasLayerError(f"{where}: unsupported Keras layers: {', '.join(missing)}; supported: "
                              f"{', '.join(sorted(CONVERTERS))}")


def _all_layers(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The layer specs, those of nested models in their place (the models themselves left out)."""
    found = []
    for spec in layers:
        inner = spec.get("config", {}).get("layers") if spec.get("class_name") in MODEL_CLASSES else None
        if isinstance(inner, list):
            found += _all_layers(inner)
        else:
            found.append(spec)
    return found


def _next_tensor(converted: Converted, source: Tensor, out_shape: tuple[int, ...]) -> Tensor:
    if converted.output is not None:
        return converted.output
    if converted.padding is not None:
        return Tensor(source.shape, padding=converted.padding)
    if any(isinstance(layer, L.Flatten) for layer in converted.layers) and len(source.shape) > 1:
        return Tensor(out_shape, source.shape[1:] + source.shape[:1])
    return Tensor(out_shape, source.flattened_from if converted.keeps_flatten_order else None)


def _convert(class_name: str, config: dict[str, Any], arrays: list[np.ndarray], inputs: list[Tensor],
             name: str) -> Converted:
    """One Keras layer through its converter, with the checks every layer shares."""
    converter = CONVERTERS[class_name]
    if any(t.padding is not None for t in inputs) and not getattr(converter, "takes_padding", False):
        raise KerasLayerError(f"layer {name!r} ({class_name}) follows a ZeroPadding layer; convlens "
                              "takes zero padding only into the convolution that follows it")
    converted = converter(config, arrays, inputs)
    if arrays and not any(layer.parameters() or list(layer.named_buffers()) for layer in converted.layers):
        raise KerasLayerError(f"layer {name!r} ({class_name}): the file holds {len(arrays)} weight "
                              "arrays for a layer that has none")
    return converted


def model_layers(model_config: dict[str, Any], where: str) -> tuple[str, list[dict[str, Any]]]:
    """The model's class name and its list of layer specs."""
    class_name, config = _unwrap(model_config, where)
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise KerasLayerError(f"{where}: the {class_name} config has no list of layers")
    return class_name, layers


def build_model(model_config: dict[str, Any], weights: WeightSource, where: str,
                keras_version: str | None = None) -> Module:
    """A convlens model from a Keras model config and the weights of its layers
    (``keras_version``: the Keras that wrote the file, when the config does not say)."""
    class_name, layers = model_layers(model_config, where)
    config = _unwrap(model_config, where)[1]
    version = str(model_config.get("keras_version") or keras_version or "3")
    # Keras 1 and 2, and TensorFlow.js ("tfjs-layers 4.22.0"), share the older activations
    walk = Walk(weights, where, version.startswith(("1.", "2.", "tfjs")))
    for spec in layers:
        if not isinstance(spec, dict) or "class_name" not in spec:
            raise KerasLayerError(f"{where}: expected layer specs {{'class_name', 'config'}}, "
                                  f"received {str(spec)[:60]}")
    check_supported(layers, where)
    model, output = walk.model(class_name, config, None, "")
    shape = model.input_shapes[0] if isinstance(model, L.Graph) else output[1]
    from convlens.io.model_info import ModelInfo

    model.info = ModelInfo(name=config.get("name"), input_shape=tuple(shape), input_dtype="float32",
                           notes=f"imported from the Keras model {where} (channels-first)")
    return model


class Walk:
    """One model's conversion: where the weights come from, the file's Keras generation, and
    the path of the (nested) model being walked."""

    def __init__(self, weights: WeightSource, where: str, keras2: bool) -> None:
        self.weights, self.where, self.keras2 = weights, where, keras2

    def model(self, class_name: str, config: dict[str, Any], source: Tensor | None,
              prefix: str) -> tuple[Module, tuple[Tensor, tuple[int, ...]]]:
        """The convlens model of a (nested) Keras model, its output tensor and input shape."""
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise KerasLayerError(f"{self.where}: the {class_name} config has no list of layers")
        if class_name == "Sequential":
            return _sequential(layers, config, self, prefix, source)
        if class_name in ("Functional", "Model"):
            return _functional(layers, config, self, prefix, source)
        raise KerasLayerError(f"{self.where}: model class {class_name!r} is not supported; expected "
                              "Sequential, Functional or Model")

    def convert(self, spec: dict[str, Any], inputs: list[Tensor], prefix: str) -> Converted:
        """One layer (or nested model) of the model at ``prefix``."""
        class_name = str(spec["class_name"])
        config = dict(spec.get("config", {}), _class=class_name, _keras2=self.keras2)
        name = str(config.get("name", spec.get("name", class_name)))
        if class_name in MODEL_CLASSES:
            if len(inputs) != 1:
                raise KerasLayerError(f"{self.where}: the nested model {name!r} takes {len(inputs)} "
                                      "inputs; nested models with one input are supported")
            inner, (output, _) = self.model(class_name, config, inputs[0], f"{prefix}{name}/")
            return Converted([inner], output=output)
        arrays = [np.asarray(a) for a in self.weights(prefix + name)]
        return _convert(class_name, config, arrays, inputs, name)


def _sequential(layers: list[dict[str, Any]], config: dict[str, Any], walk: Walk, prefix: str,
                source: Tensor | None) -> tuple[Module, tuple[Tensor, tuple[int, ...]]]:
    where = walk.where
    shape = None
    for spec in layers:
        shape = _input_shape(spec.get("config", {}))
        if shape is not None:
            break
    if shape is None and isinstance(config.get("build_input_shape"), list):
        shape = config["build_input_shape"]
    if shape is None and source is None:
        raise KerasLayerError(f"{where}: the Sequential model has no input shape (save a model "
                              "that has been built, e.g. with keras.Input first)")
    tensor = source or Tensor(_channels_first(shape, where))
    input_shape = tensor.shape
    model_layers: list[Module] = []
    for spec in layers:
        if spec["class_name"] in _IGNORED:
            continue
        converted = walk.convert(spec, [tensor], prefix)
        out_shape = shape_of(converted.layers, tensor.shape)
        tensor = _next_tensor(converted, tensor, out_shape)
        model_layers += converted.layers
    return L.Sequential(*model_layers), (tensor, input_shape)


# -- functional models -----------------------------------------------------------------------------
def _history(value: Any) -> list[tuple[str, int, int]]:
    """Every Keras tensor reference inside one inbound node's arguments, in order."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            name, node, index = value["config"]["keras_history"]
            return [(str(name), int(node), int(index))]
        return [ref for item in value.values() for ref in _history(item)]
    if isinstance(value, (list, tuple)):
        if (len(value) in (3, 4) and isinstance(value[0], str) and isinstance(value[1], int)
                and isinstance(value[2], int)):
            return [(value[0], value[1], value[2])]       # Keras 2: [name, node, tensor, kwargs]
        return [ref for item in value for ref in _history(item)]
    return []


def _inbound(spec: dict[str, Any]) -> list[list[tuple[str, int, int]]]:
    nodes = spec.get("inbound_nodes") or []
    calls = []
    for node in nodes:
        args = node.get("args", []) if isinstance(node, dict) else node
        calls.append(_history(args))
    return calls


def _references(config: dict[str, Any], key: str) -> list[tuple[str, int, int]]:
    value = config.get(key) or []
    if value and isinstance(value[0], str):            # a single [name, node, tensor]
        value = [value]
    return [(str(v[0]), int(v[1]), int(v[2])) for v in value]


def _functional(layers: list[dict[str, Any]], config: dict[str, Any], walk: Walk, prefix: str,
                source: Tensor | None) -> tuple[Module, tuple[Tensor, tuple[int, ...]]]:
    where = walk.where
    try:
        from convlens.layers.graph import Graph, Input
    except ImportError:  # pragma: no cover - the graph model lands with the graph branch
        raise KerasLayerError(f"{where}: functional Keras models need convlens's graph model") from None
    symbolic: dict[tuple[str, int, int], Any] = {}
    tensors: dict[tuple[str, int, int], Tensor] = {}
    inputs = []
    for spec in layers:
        if spec["class_name"] == "InputLayer":
            cfg = spec.get("config", {})
            name = str(cfg.get("name", spec.get("name")))
            shape = _channels_first(_input_shape(cfg) or [], f"{where}: input {name!r}")
            symbolic[(name, 0, 0)] = Input(shape, name=name)
            # a nested model's input: what the outer model feeds it (its flatten order too)
            tensors[(name, 0, 0)] = source if source is not None and source.shape == shape else Tensor(shape)
            inputs.append((name, 0, 0))
    # one work item per call of a layer; a layer called twice (shared weights) may read its
    # own first output, so calls are placed one by one as their inputs become known
    pending = [(spec, k, call) for spec in layers if spec["class_name"] not in _IGNORED
               for k, call in enumerate(_inbound(spec))]
    converted: dict[str, Converted] = {}
    used: dict[str, int] = {}
    while pending:
        ready = [item for item in pending if all(ref in symbolic for ref in item[2])]
        if not ready:
            names = ", ".join(sorted({str(s.get("config", {}).get("name")) for s, _, _ in pending}))
            raise KerasLayerError(f"{where}: the layers {names} read tensors no layer produces")
        for item in ready:
            spec, node_index, call = item
            name = str(spec.get("config", {}).get("name", spec.get("name")))
            metas = [tensors[ref] for ref in call]
            if name not in converted:
                converted[name] = walk.convert(spec, metas, prefix)
            result = converted[name]
            node_name = name if node_index == 0 else f"{name}_call{node_index}"
            out = _apply(result.layers, [symbolic[ref] for ref in call], node_name, used)
            symbolic[(name, node_index, 0)] = out
            tensors[(name, node_index, 0)] = _next_tensor(result, metas[0], tuple(out.shape))
            pending.remove(item)
    try:
        ins = [symbolic[ref] for ref in _references(config, "input_layers")] or [symbolic[r] for r in inputs]
        outs = [symbolic[ref] for ref in _references(config, "output_layers")]
    except KeyError as error:
        raise KerasLayerError(f"{where}: the model's inputs or outputs name an unknown layer "
                              f"{error}") from None
    graph = Graph(inputs=ins if len(ins) > 1 else ins[0], outputs=outs if len(outs) > 1 else outs[0])
    out_refs = _references(config, "output_layers")
    return graph, (tensors[out_refs[0]], tuple(graph.input_shapes[0]))


def _apply(layers: list[Module], inputs: list[Any], name: str, used: dict[str, int]) -> Any:
    """Call the layers as graph nodes: the first on all inputs (named after the Keras layer),
    the rest one after another (``<name>_<activation>``)."""
    if not layers:                                      # e.g. Activation('linear')
        return inputs[0]
    out = layers[0](*inputs, name=name)
    for layer in layers[1:]:
        suffix = type(layer).__name__.lower()
        key = f"{name}_{suffix}"
        used[key] = used.get(key, 0) + 1
        out = layer(out, name=key if used[key] == 1 else f"{key}{used[key]}")
    return out
