"""Keras model configs -> convlens models: the walker shared by the three file formats.

A Keras ``Sequential`` becomes a ``cl.Sequential``; a functional model (``Functional`` /
``Model``, with branches, ``Add`` or ``Concatenate``) becomes a ``cl.Graph``. Both Keras 3
configs (``batch_shape``, inbound nodes as ``{"args": [keras tensors]}``) and Keras 2 configs
(``batch_input_shape``, inbound nodes as ``[[name, node, tensor, kwargs]]``, as in
TensorFlow.js files) are read. Each layer goes through :data:`convlens.io.keras.layers.CONVERTERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import convlens.layers as L
from convlens.io.keras.layers import CONVERTERS, Converted, KerasLayerError, Tensor, shape_of
from convlens.layers.module import Module

WeightSource = Callable[[str], list[np.ndarray]]
"""``weights(layer_name)``: that layer's arrays in Keras's order (empty when it has none)."""

_IGNORED = {"InputLayer"}
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
               for spec in layers if spec.get("class_name") not in CONVERTERS
               and spec.get("class_name") not in _IGNORED]
    if missing:
        raise KerasLayerError(f"{where}: unsupported Keras layers: {', '.join(missing)}; supported: "
                              f"{', '.join(sorted(CONVERTERS))}")


def _next_tensor(converted: Converted, source: Tensor, out_shape: tuple[int, ...]) -> Tensor:
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


def build_model(model_config: dict[str, Any], weights: WeightSource, where: str) -> Module:
    """A convlens model from a Keras model config and the weights of its layers."""
    class_name, layers = model_layers(model_config, where)
    config = _unwrap(model_config, where)[1]
    for spec in layers:
        if not isinstance(spec, dict) or "class_name" not in spec:
            raise KerasLayerError(f"{where}: expected layer specs {{'class_name', 'config'}}, "
                                  f"received {str(spec)[:60]}")
        if spec["class_name"] in ("Sequential", "Functional", "Model"):
            raise KerasLayerError(f"{where}: nested models (layer {spec.get('config', {}).get('name')!r}) "
                                  "are not supported; save the inner model on its own")
    check_supported(layers, where)
    if class_name == "Sequential":
        model, shape = _sequential(layers, config, weights, where)
    elif class_name in ("Functional", "Model"):
        model = _functional(layers, config, weights, where)
        shape = model.input_shapes[0]
    else:
        raise KerasLayerError(f"{where}: model class {class_name!r} is not supported; expected "
                              "Sequential, Functional or Model")
    from convlens.io.model_info import ModelInfo

    model.info = ModelInfo(name=config.get("name"), input_shape=tuple(shape), input_dtype="float32",
                           notes=f"imported from the Keras model {where} (channels-first)")
    return model


def _sequential(layers: list[dict[str, Any]], config: dict[str, Any], weights: WeightSource,
                where: str) -> tuple[Module, tuple[int, ...]]:
    shape = None
    for spec in layers:
        shape = _input_shape(spec.get("config", {}))
        if shape is not None:
            break
    if shape is None and isinstance(config.get("build_input_shape"), list):
        shape = config["build_input_shape"]
    if shape is None:
        raise KerasLayerError(f"{where}: the Sequential model has no input shape (save a model "
                              "that has been built, e.g. with keras.Input first)")
    tensor = Tensor(_channels_first(shape, where))
    input_shape = tensor.shape
    model_layers: list[Module] = []
    for spec in layers:
        if spec["class_name"] in _IGNORED:
            continue
        class_name = str(spec["class_name"])
        config_ = dict(spec.get("config", {}), _class=class_name)
        arrays = [np.asarray(a) for a in weights(config_.get("name", class_name))]
        converted = _convert(class_name, config_, arrays, [tensor], config_.get("name", class_name))
        out_shape = shape_of(converted.layers, tensor.shape)
        tensor = _next_tensor(converted, tensor, out_shape)
        model_layers += converted.layers
    return L.Sequential(*model_layers), input_shape


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


def _functional(layers: list[dict[str, Any]], config: dict[str, Any], weights: WeightSource,
                where: str) -> Module:
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
            tensors[(name, 0, 0)] = Tensor(shape)
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
            class_name = str(spec["class_name"])
            cfg = dict(spec.get("config", {}), _class=class_name)
            name = str(cfg.get("name", spec.get("name")))
            metas = [tensors[ref] for ref in call]
            if name not in converted:
                arrays = [np.asarray(a) for a in weights(name)]
                converted[name] = _convert(class_name, cfg, arrays, metas, name)
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
    return Graph(inputs=ins if len(ins) > 1 else ins[0], outputs=outs if len(outs) > 1 else outs[0])


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
