"""Any Keras classifier as it is: the forms the contract accepts, the one-line refusals, the head and its
features found through the graph, and MC dropout on Functional and nested models with BatchNorm frozen."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from uncertainty.core.errors import PipelineError
from uncertainty.models.classifier import (
    DROPOUT,
    check,
    features_model,
    head_model,
    head_of,
    infer_mode,
    walk,
)
from uncertainty.models.cnn import build_cnn, build_model, predict_probs
from uncertainty.models.mc import MCDropout
from uncertainty.models.runtime import seed_everything

SHAPE, K = (12, 12, 1), 4


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((40, *SHAPE), dtype=np.float32)


def functional_bn(head: str = "softmax", rate: float = 0.3) -> keras.Model:
    """Conv-BatchNorm-ReLU, pooling, Dropout, Dense, Dropout, then one of the accepted heads."""
    seed_everything(1)
    inputs = keras.Input(SHAPE)
    x = keras.layers.Conv2D(6, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Dropout(rate)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    x = keras.layers.Dropout(rate)(x)
    if head == "softmax":
        outputs = keras.layers.Dense(K, activation="softmax")(x)
    elif head == "logits":
        outputs = keras.layers.Dense(K)(x)
    elif head == "activation":
        outputs = keras.layers.Activation("softmax")(keras.layers.Dense(K)(x))
    else:
        outputs = keras.layers.Softmax()(keras.layers.Dense(K)(x))
    model = keras.Model(inputs, outputs)
    # Moving statistics far from a batch's own: BatchNorm in training mode would change every output.
    bn = next(layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    gamma, beta, mean, variance = bn.get_weights()
    bn.set_weights([gamma, beta, mean + 0.5, variance * 4.0])
    return model


def nested_backbone(outer: str) -> keras.Model:
    """A Functional backbone with BatchNorm (no Dropout) inside a Sequential or Functional classifier."""
    seed_everything(2)
    inputs = keras.Input(SHAPE)
    x = keras.layers.Conv2D(5, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    backbone = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="backbone")
    if outer == "sequential":
        return keras.Sequential(
            [keras.Input(SHAPE), backbone, keras.layers.Dropout(0.2), keras.layers.Dense(K)]
        )
    inputs = keras.Input(SHAPE)
    x = keras.layers.Dropout(0.2)(backbone(inputs))
    return keras.Model(inputs, keras.layers.Dense(K, activation="softmax")(x))


@pytest.mark.parametrize(
    ("build", "logits"),
    [
        (lambda: build_cnn(SHAPE, K, 0.1), False),
        (lambda: functional_bn("softmax"), False),
        (lambda: functional_bn("logits"), True),
        (lambda: functional_bn("activation"), False),
        (lambda: functional_bn("softmax_layer"), False),
        (lambda: nested_backbone("sequential"), True),
        (lambda: nested_backbone("functional"), False),
    ],
    ids=[
        "sequential",
        "functional_bn",
        "logits",
        "activation_softmax",
        "softmax_layer",
        "nested_seq",
        "nested_fn",
    ],
)
def test_accepted_forms_give_probabilities_features_and_logits(
    build, logits: bool, images: np.ndarray
) -> None:
    model = build()
    head = check(model, "the model", SHAPE, K)
    assert head.outputs_logits is logits and head.dense.units == K
    probs = predict_probs(model, images)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    features = np.asarray(features_model(model, head).predict(images, verbose=0))
    kernel, bias = head.dense.get_weights()
    logit_probs = np.asarray(keras.ops.softmax(features @ kernel + bias))
    np.testing.assert_allclose(logit_probs, probs, atol=1e-5)  # the features are the head Dense's input
    # One pass per image (the infer stage): the head applied to the features is the whole model, bit for bit.
    np.testing.assert_array_equal(predict_probs(head_model(head), features), probs)
    passes = MCDropout(model, seed=3, chunk_passes=4, batch_size=16, head=head).sample(images, 6)
    assert passes.shape == (6, len(images), K)
    np.testing.assert_allclose(passes.sum(axis=2), 1.0, atol=1e-5)
    assert not np.allclose(passes[0], passes[1])  # every accepted form here has Dropout: passes differ


def test_a_model_without_dropout_passes_deterministically(images: np.ndarray) -> None:
    model = build_cnn(SHAPE, K, 0.0)
    passes = MCDropout(model, seed=3).sample(images, 3)
    np.testing.assert_array_equal(passes[0], passes[2])
    np.testing.assert_allclose(passes[0], predict_probs(model, images), atol=1e-6)


def test_functional_mc_is_the_sequential_mc_bit_for_bit(images: np.ndarray) -> None:
    """The same layers as a Sequential and as a Functional graph: the same masks, the same passes."""
    sequential = build_cnn(SHAPE, K, 0.2)
    inputs = keras.Input(SHAPE)
    x = inputs
    for layer in sequential.layers:
        x = layer(x)
    functional = keras.Model(inputs, x)
    a = MCDropout(sequential, seed=5, chunk_passes=3, batch_size=16).sample(images, 5)
    b = MCDropout(functional, seed=5, chunk_passes=3, batch_size=16).sample(images, 5)
    np.testing.assert_array_equal(a, b)


def test_mc_matches_keras_dropout_with_batch_norm_frozen_in_distribution() -> None:
    """The reference switches only Keras' own Dropout layers to training (BatchNorm stays on its moving
    statistics); over many passes the two predictive means and spreads agree."""
    model = functional_bn("softmax", rate=0.5)
    x = np.random.default_rng(1).random((3, *SHAPE), dtype=np.float32)
    passes = 3000

    def reference_call(operation, args, kwargs):
        if isinstance(operation, DROPOUT):
            return operation(*args, training=True)
        return infer_mode(operation, args, kwargs)

    tiled = np.repeat(x, passes, axis=0)
    out = walk(model, [keras.ops.convert_to_tensor(tiled)], reference_call)
    reference = np.asarray(out[id(model.outputs[0])]).reshape(3, passes, K).transpose(1, 0, 2)
    ours = MCDropout(model, seed=9, chunk_passes=500, batch_size=8).sample(x, passes)
    deterministic = predict_probs(model, x)
    # The mean over passes: within 4 standard errors of each other, and not the deterministic softmax.
    se = np.sqrt(reference.var(axis=0) / passes + ours.var(axis=0) / passes)
    assert np.all(np.abs(reference.mean(axis=0) - ours.mean(axis=0)) <= 4 * se + 1e-6)
    np.testing.assert_allclose(ours.std(axis=0), reference.std(axis=0), rtol=0.1, atol=2e-3)
    assert np.abs(ours.mean(axis=0) - deterministic).max() > 10 * se.max()
    # BatchNorm in training mode (batch statistics) gives other outputs: MC dropout must not do that.
    bn_training = np.asarray(model(x, training=True))
    assert not np.allclose(bn_training, ours.mean(axis=0), atol=0.05)


def test_spatial_dropout_drops_whole_channels() -> None:
    seed_everything(4)
    inputs = keras.Input(SHAPE)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.SpatialDropout2D(0.5)(x)
    pooled = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(K)(pooled))
    x_in = np.random.default_rng(2).random((2, *SHAPE), dtype=np.float32)
    sampler = MCDropout(model, seed=1, head=head_of(model))
    dropped = sampler._drop(  # the masked feature map itself: a channel is kept or zeroed everywhere
        model.layers[2], keras.ops.ones((2, 12, 12, 8)), 0, keras.ops.arange(2), keras.ops.arange(1), 2
    )
    per_channel = np.asarray(dropped).reshape(2, 144, 8)
    assert np.all(per_channel.min(axis=1) == per_channel.max(axis=1))
    assert 0 < (per_channel[:, 0] == 0).mean() < 1
    assert sampler.sample(x_in, 4).shape == (4, 2, K)


class Subclassed(keras.Model):
    def __init__(self) -> None:
        super().__init__()
        self.dense = keras.layers.Dense(K, activation="softmax")

    def call(self, x):
        return self.dense(keras.ops.reshape(x, (keras.ops.shape(x)[0], -1)))


def two_inputs() -> keras.Model:
    a, b = keras.Input(SHAPE), keras.Input(SHAPE)
    x = keras.layers.Flatten()(keras.layers.Add()([a, b]))
    return keras.Model([a, b], keras.layers.Dense(K, activation="softmax")(x))


def two_outputs() -> keras.Model:
    inputs = keras.Input(SHAPE)
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, [keras.layers.Dense(K, activation="softmax")(x), keras.layers.Dense(1)(x)])


def ends(layer: keras.layers.Layer) -> keras.Model:
    inputs = keras.Input(SHAPE)
    return keras.Model(inputs, layer(keras.layers.Flatten()(inputs)))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (two_inputs, "mine: takes 2 inputs; expected one image input"),
        (two_outputs, "mine: has 2 outputs; expected one (N, 4) output"),
        (
            lambda: build_cnn((14, 14, 1), K),
            "mine: takes inputs (14, 14, 1); expected (12, 12, 1), the data's image shape",
        ),
        (lambda: build_cnn(SHAPE, 3), "mine: outputs (3,) per image; expected (4,), one per class"),
        (
            lambda: ends(keras.layers.Dense(K, activation="sigmoid", name="out")),
            "mine: the last Dense layer 'out' has activation 'sigmoid'; expected softmax, or linear (logits) "
            "optionally followed by Activation('softmax') or Softmax()",
        ),
        (
            lambda: ends_not_dense(),
            "mine: the output comes from Lambda",
        ),
        (
            Subclassed,
            "mine: Subclassed has no defined inputs (a subclassed model); expected a keras.Sequential",
        ),
        (
            lambda: softmax_twice(),
            "mine: the output applies softmax twice; expected one softmax after Dense",
        ),
    ],
    ids=[
        "two_inputs",
        "two_outputs",
        "input_shape",
        "not_k_way",
        "sigmoid",
        "not_dense",
        "subclassed",
        "double",
    ],
)
def test_refused_forms_get_one_line_naming_the_model(build, message: str) -> None:
    with pytest.raises(PipelineError) as raised:
        build_model(lambda *_: build(), SHAPE, K, 0.0, "mine")
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(message), text


def ends_not_dense() -> keras.Model:
    inputs = keras.Input(SHAPE)
    x = keras.layers.Dense(K)(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(x))


def softmax_twice() -> keras.Model:
    inputs = keras.Input(SHAPE)
    x = keras.layers.Dense(K, activation="softmax")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Softmax()(x))


def test_a_keras_applications_backbone_inside_is_accepted() -> None:
    shape = (32, 32, 3)
    backbone = keras.applications.MobileNetV3Small(
        input_shape=shape, include_top=False, weights=None, pooling="avg", include_preprocessing=False
    )
    model = keras.Sequential([keras.Input(shape), backbone, keras.layers.Dropout(0.2), keras.layers.Dense(K)])
    head = check(model, "mine", shape, K)
    assert head.outputs_logits
    x = np.random.default_rng(3).random((4, *shape), dtype=np.float32)
    features = features_model(model, head).predict(x, verbose=0)
    assert features.shape == (4, backbone.output_shape[-1])
    passes = MCDropout(model, seed=1, head=head).sample(x, 3)
    np.testing.assert_allclose(passes.sum(axis=2), 1.0, atol=1e-5)
