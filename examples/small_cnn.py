"""An architecture of your own, as params.yaml's train.builder names it (file examples/small_cnn.py,
function small_cnn): the pipeline calls it with the data's image shape, its class count and each
model's dropout rate. The contract (uncertainty.models.classifier): any Sequential or Functional model with one
image input, ending in Dense(num_classes), softmax or logits; Dropout layers only when dropout_rate > 0
(MC dropout samples them). examples/functional_bn.py trains a Functional model with BatchNorm elsewhere."""

from __future__ import annotations

import keras


def small_cnn(input_shape: tuple[int, ...], num_classes: int, dropout_rate: float) -> keras.Sequential:
    dropout = [keras.layers.Dropout(dropout_rate)] if dropout_rate > 0 else []
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Conv2D(8, 3, activation="relu", padding="same"),  # (H, W, 8)
            keras.layers.MaxPooling2D(2),  # (H/2, W/2, 8)
            *dropout,
            keras.layers.GlobalAveragePooling2D(),  # (8,)
            keras.layers.Dense(16, activation="relu"),  # the penultimate features
            *dropout,
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )
