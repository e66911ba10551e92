"""A classifier outside Keras, its outputs saved for the pipeline: scikit-learn's MLPClassifier on the 8x8
digits scikit-learn ships (no network), six trainings with their own seeds.

    python -m examples.saved_predictions inputs/mlp_digits.npz
    python -m uncertainty.runs new mlp_digits --predictions inputs/mlp_digits.npz
    make run RUN=runs/mlp_digits

Digits 0-4 are the classes; digits 5-9 are the out-of-distribution set (classes the model never saw, as in
open-set recognition), with uniform noise as a second one. The file follows uncertainty/data/predictions.py
(README: Saved predictions): per set the logits, the penultimate features (the hidden layer's ReLU outputs)
and the last layer that maps them to the logits, a leading axis for the six trainings, and the test images
rotated. Any framework writes the same arrays: a PyTorch model's logits and `model.fc` weights, say.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import scipy.ndimage
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

SEEDS = (84, 85, 86, 87, 88, 89)  # one training each: two disjoint ensembles of three
CLASSES = 5  # digits 0..4 in distribution, 5..9 out of it
ANGLES = (0, 30, 60, 90, 120, 150, 180)
HIDDEN = 32


def digits() -> dict[str, np.ndarray]:
    """Pixels in [0, 1]: a small training set (a fifth) and the test set of digits 0-4, digits 5-9 and uniform noise as OOD."""
    data = load_digits()
    images, labels = data.images / 16.0, data.target
    known = labels < CLASSES
    x_train, x_test, y_train, y_test = train_test_split(
        images[known], labels[known], test_size=0.8, random_state=84, stratify=labels[known]
    )
    noise = np.random.default_rng(84).uniform(0, 1, (300, 8, 8))
    rotated = np.stack([scipy.ndimage.rotate(x_test, a, axes=(1, 2), reshape=False, order=1) for a in ANGLES])
    return {
        "x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test,
        "digits_5_to_9": images[~known], "uniform_noise": noise, "rotated": np.clip(rotated, 0, 1),
    }  # fmt: skip


def features_and_logits(model: MLPClassifier, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hidden layer's ReLU outputs (N, 32) and the output layer's logits (N, K): the forward pass."""
    x = images.reshape(len(images), -1)
    features = np.maximum(x @ model.coefs_[0] + model.intercepts_[0], 0.0)
    return features, features @ model.coefs_[1] + model.intercepts_[1]


def predictions(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out: dict[str, list[np.ndarray]] = {}
    for seed in SEEDS:
        model = MLPClassifier((HIDDEN,), alpha=1e-3, max_iter=1000, random_state=seed)
        model.fit(data["x_train"].reshape(len(data["x_train"]), -1), data["y_train"])
        for key, images in (
            ("test", data["x_test"]), ("train", data["x_train"]),
            ("ood_digits_5_to_9", data["digits_5_to_9"]), ("ood_uniform_noise", data["uniform_noise"]),
        ):  # fmt: skip
            features, logits = features_and_logits(model, images)
            out.setdefault(f"{key}_features", []).append(features)
            if key != "train":
                out.setdefault(f"{key}_logits", []).append(logits)
        rotated = data["rotated"]  # (A, n, 8, 8)
        features, logits = features_and_logits(model, rotated.reshape(-1, 8, 8))
        out.setdefault("rotated_features", []).append(features.reshape(len(ANGLES), -1, HIDDEN))
        out.setdefault("rotated_logits", []).append(logits.reshape(len(ANGLES), -1, CLASSES))
        out.setdefault("last_kernel", []).append(model.coefs_[1])
        out.setdefault("last_bias", []).append(model.intercepts_[1])
    arrays = {key: np.stack(values).astype(np.float32) for key, values in out.items()}  # (S, ...)
    return {
        **arrays,
        "y_test": data["y_test"], "y_train": data["y_train"], "rotated_angles": np.asarray(ANGLES),
        "class_names": np.array([str(d) for d in range(CLASSES)]),
        "training_names": np.array([f"mlp_{seed}" for seed in SEEDS]),
    }  # fmt: skip


def main(path: str) -> None:
    arrays = predictions(digits())
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    shapes = ", ".join(f"{key} {value.shape}" for key, value in arrays.items())
    print(f"{path}: {shapes}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "inputs/mlp_digits.npz")
