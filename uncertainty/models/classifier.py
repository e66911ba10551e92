"""What the pipeline accepts as a classifier, and how it reads one: the head, the features, the graph.

Any `keras.Model` with one image input and one (N, K) output is accepted, Sequential or Functional,
with nested models (a `keras.applications` backbone inside) anywhere, its output coming from the
last `Dense(K)` in one of three forms:

* `Dense(K, activation="softmax")`: the output is the probabilities;
* `Dense(K)` (linear): the output is the logits (a model trained with `from_logits=True`);
* `Dense(K)` followed by `Activation("softmax")` or `Softmax()`: the output is the probabilities.

The logits are always that Dense layer's pre-activation output, and the penultimate features its
input, found by walking the graph back from the output (not by layer position), through nested
models where the head sits inside one. Everything else is refused in one line naming the model and
what was expected (`check`).

`walk` runs a model's graph with a call of the caller's choosing for each layer: MC dropout
(uncertainty.models.mc) samples the Dropout-family layers that way while every other layer, BatchNorm
included, runs in inference mode. It reads Keras 3's functional graph (`_nodes_by_depth`, each
node's `arguments`), as `keras.Model.call` itself does; a subclassed model has no such graph and is
refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras

from uncertainty.core.errors import PipelineError

# Every layer MC dropout samples: Dropout and its subclasses (SpatialDropout1D/2D/3D).
DROPOUT = keras.layers.Dropout
NORMALIZATION = keras.layers.BatchNormalization


@dataclass(frozen=True)
class Head:
    """The last Dense layer, what the model outputs (probabilities or logits), and where the Dense sits."""

    dense: keras.layers.Dense
    outputs_logits: bool  # True: the model's output is the Dense's linear output (apply a softmax)
    path: tuple[keras.Model, ...]  # the models from the outer one down to the one whose graph holds `dense`
    after: tuple[keras.layers.Layer, ...] = ()  # the softmax or linear activations after it, in order


def graph_of(model: keras.Model) -> keras.Model | None:
    """The functional graph that runs `model`: itself, a built Sequential's, or None (subclassed)."""
    if isinstance(model, keras.Sequential):
        return getattr(model, "_functional", None)
    if hasattr(model, "_nodes_by_depth") and getattr(model, "_outputs_struct", None) is not None:
        return model
    return None


def nodes(graph: keras.Model) -> list[Any]:
    """The graph's call nodes in an order where each comes after the nodes it reads (deepest first)."""
    by_depth = graph._nodes_by_depth
    return [
        node
        for depth in sorted(by_depth, reverse=True)
        for node in by_depth[depth]
        if node.operation is not None and not node.is_input
    ]


def sublayers(layer: Any) -> list[Any]:
    """The layer and every layer nested in it."""
    flatten = getattr(layer, "_flatten_layers", None)
    return list(flatten(include_self=True, recursive=True)) if flatten else [layer]


def dropout_layers(model: keras.Model) -> list[keras.layers.Dropout]:
    return [layer for layer in sublayers(model) if isinstance(layer, DROPOUT)]


def has_batch_norm(model: keras.Model) -> bool:
    return any(isinstance(layer, NORMALIZATION) for layer in sublayers(model))


def infer_mode(operation: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """Call a graph node's operation in inference mode (Dropout off, BatchNorm on its moving statistics)."""
    if isinstance(operation, keras.layers.Layer):
        return operation(*args, **{**kwargs, "training": False})
    return operation(*args, **kwargs)  # a keras.ops operation in the graph (x + y, ...)


def walk(
    model: keras.Model,
    inputs: Sequence[Any],
    call: Callable[[Any, Sequence[Any], dict[str, Any]], Any] = infer_mode,
    values: dict[int, Any] | None = None,
    only: Callable[[Any], bool] = lambda node: True,
) -> dict[int, Any]:
    """Run `model`'s graph on `inputs` (or from the tensors already in `values`, keyed by id of the graph's
    KerasTensors), each node `only` selects through `call(operation, args, kwargs)`; returns every value."""
    graph = graph_of(model)
    if graph is None:
        raise PipelineError(f"{model.name}: a subclassed model has no graph to walk; build it functionally")
    values = dict(values or {})
    values.update({id(x): v for x, v in zip(graph.inputs, inputs, strict=False)})
    for node in nodes(graph):
        if not only(node) or any(id(x) not in values for x in node.input_tensors):
            continue
        args, kwargs = node.arguments.fill_in(values)
        outputs = call(node.operation, args, kwargs)
        for x, y in zip(node.outputs, keras.tree.flatten(outputs), strict=True):
            values[id(x)] = y
    return values


def output_node(graph: keras.Model) -> Any:
    """The node that produces the graph's (single) output."""
    history = graph.outputs[0]._keras_history
    return history.operation._inbound_nodes[history.node_index]


def _activation_name(layer: Any) -> str:
    activation = layer.get_config().get("activation")
    return activation if isinstance(activation, str) else getattr(layer.activation, "__name__", "?")


def _after_dense(layer: Any) -> bool | None:
    """What a layer between the head Dense and the output does: True a softmax, False nothing (a linear
    Activation), None: it is not such a layer."""
    if isinstance(layer, keras.layers.Softmax):
        return True
    if isinstance(layer, keras.layers.Activation) and _activation_name(layer) in ("softmax", "linear"):
        return _activation_name(layer) == "softmax"
    return None


def find_head(model: keras.Model, where: str, num_classes: int) -> Head:
    """The last Dense layer behind the output (see the module docstring), or a one-line PipelineError."""
    graph = graph_of(model)
    if graph is None:
        raise PipelineError(
            f"{where}: {type(model).__name__} is a subclassed model, so its last Dense layer cannot be found; "
            "expected a keras.Sequential or a functional keras.Model(inputs, outputs)"
        )
    twice = PipelineError(f"{where}: the output applies softmax twice; expected one softmax after Dense")
    node, softmax_after, after = output_node(graph), False, ()
    while True:
        layer = node.operation
        step = _after_dense(layer)
        if step is not None:  # a softmax (True) or a linear activation (False) after the Dense
            if isinstance(layer, keras.layers.Softmax) and layer.axis not in (-1, 1, [-1], [1], (-1,), (1,)):
                raise PipelineError(
                    f"{where}: the output Softmax takes axis {layer.axis}; expected -1, the classes"
                )
            if step and softmax_after:
                raise twice
            softmax_after, after = softmax_after or step, (layer, *after)
            node = _producer(node.input_tensors[0])
            continue
        if isinstance(layer, keras.layers.Dense):
            activation = _activation_name(layer)
            if activation not in ("softmax", "linear"):
                raise PipelineError(
                    f"{where}: the last Dense layer {layer.name!r} has activation {activation!r}; expected softmax, "
                    "or linear (logits) optionally followed by Activation('softmax') or Softmax()"
                )
            if activation == "softmax" and softmax_after:
                raise twice
            if layer.units != num_classes:
                raise PipelineError(
                    f"{where}: the last Dense layer {layer.name!r} has {layer.units} outputs; expected "
                    f"{num_classes}, one per class"
                )
            return Head(layer, activation == "linear" and not softmax_after, (model,), after)
        if isinstance(layer, keras.Model):
            inner = find_head(layer, where, num_classes)
            if softmax_after and not inner.outputs_logits:
                raise twice
            return Head(
                inner.dense,
                inner.outputs_logits and not softmax_after,
                (model, *inner.path),
                (*inner.after, *after),
            )
        what = f"{type(layer).__name__} {getattr(layer, 'name', '')!r}".strip()
        raise PipelineError(
            f"{where}: the output comes from {what}; expected a Dense({num_classes}) layer (softmax or linear "
            "logits), optionally followed by Activation('softmax') or Softmax()"
        )


def head_of(model: keras.Model) -> Head:
    """The head of a model already held to the contract (its K from its output)."""
    return find_head(model, model.name, int(model.output_shape[-1]))


def _producer(tensor: Any) -> Any:
    history = tensor._keras_history
    if history.operation is None:
        raise PipelineError("the output is the input itself: no Dense layer")
    return history.operation._inbound_nodes[history.node_index]


def check(model: Any, where: str, input_shape: Sequence[int], num_classes: int) -> Head:
    """`model` held to the contract (module docstring): its head, or a one-line PipelineError naming `where`."""
    if not isinstance(model, keras.Model):
        raise PipelineError(f"{where}: is {type(model).__name__}; expected a keras.Model")
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):  # a subclassed model that was never called
        inputs = outputs = None
    if inputs is None or outputs is None:
        raise PipelineError(
            f"{where}: {type(model).__name__} has no defined inputs (a subclassed model); expected a "
            "keras.Sequential or a functional keras.Model(inputs, outputs)"
        )
    if len(inputs) != 1:
        raise PipelineError(f"{where}: takes {len(inputs)} inputs; expected one image input")
    if len(outputs) != 1:
        raise PipelineError(f"{where}: has {len(outputs)} outputs; expected one (N, {num_classes}) output")
    shape = tuple(inputs[0].shape[1:])
    if shape != tuple(input_shape):
        raise PipelineError(
            f"{where}: takes inputs {shape}; expected {tuple(input_shape)}, the data's image shape"
        )
    if tuple(outputs[0].shape[1:]) != (num_classes,):
        raise PipelineError(
            f"{where}: outputs {tuple(outputs[0].shape[1:])} per image; expected ({num_classes},), one per class"
        )
    return find_head(model, where, num_classes)


def features_model(model: keras.Model, head: Head) -> keras.Model:
    """image -> the head Dense's input (the penultimate features), as one Keras model (one trace)."""
    return keras.Model(model.inputs, _head_input(model, head.path[1:], head.dense))


def head_model(head: Head) -> keras.Model:
    """the penultimate features -> the model's output: the head Dense and the layers after it, as one Keras
    model, so the features and the output come from one pass over the images (the same arithmetic as the
    whole model's)."""
    features = keras.Input((head.dense.kernel.shape[0],))
    output = head.dense(features)
    for layer in head.after:
        output = layer(output)
    return keras.Model(features, output)


def _head_input(model: keras.Model, inner: tuple[keras.Model, ...], dense: Any) -> Any:
    graph = graph_of(model)
    if not inner:  # the Dense is a node of this graph: its input tensor
        node = next(n for n in nodes(graph) if n.operation is dense)
        return node.input_tensors[0]
    # the Dense sits in a nested model: its features as a function of this graph's tensors
    node = next(n for n in nodes(graph) if n.operation is inner[0])
    inner_features = keras.Model(inner[0].inputs, _head_input(inner[0], inner[1:], dense))
    return inner_features(node.input_tensors[0], training=False)
