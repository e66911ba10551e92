"""Relative Mahalanobis distance (RMDS): the class-conditional distance minus a class-agnostic one.

Ren et al. ("A Simple Fix to Mahalanobis Distance for Improving Near-OOD Detection", 2021). Lee et
al.'s Mahalanobis score fits one Gaussian per class with a shared covariance Σ and reads the
smallest squared distance MD_k(z) = (z − μ_k)ᵀ Σ⁻¹ (z − μ_k). Much of it is the distance along
directions every training image varies in, which says little about the classes; RMDS subtracts the
distance under one Gaussian of all training features, MD_0(z) = (z − μ_0)ᵀ Σ_0⁻¹ (z − μ_0):

    rmds(z) = min_k (MD_k(z) − MD_0(z)),   higher = more uncertain

(OpenOOD's `RMDSPostprocessor` returns max_k of the negation). Σ is the covariance of the
class-centred features, Σ_0 that of the features (maximum likelihood, scikit-learn's
EmpiricalCovariance as OpenOOD fits them). Classification stays the CNN's softmax.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict


def _whitener(centred: np.ndarray) -> np.ndarray:
    """L with Σ⁺ = L Lᵀ for the maximum-likelihood covariance of these centred rows: ||(z − μ) L||² is the
    squared Mahalanobis distance. Σ⁺ is the pseudo-inverse, as scikit-learn's EmpiricalCovariance (scipy's
    pinvh, its cutoff) gives OpenOOD: a feature constant over the training images (a dead ReLU unit, as in
    a CNN with BatchNorm) is a direction of zero variance, left out rather than divided by."""
    values, vectors = np.linalg.eigh(centred.T @ centred / len(centred))
    kept = values > values.max() * len(values) * np.finfo(np.float64).eps
    return vectors[:, kept] / np.sqrt(values[kept])


class Options(BaseModel):
    """rmds takes no options: the covariances are the paper's (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Method:
    """The post-hoc stage's interface: class means, the shared and the global Gaussian, then any set's scores."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.fitted: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def fit(self, train: Mapping[str, np.ndarray]) -> dict[str, Any]:
        z = np.asarray(train["features"], dtype=np.float64)
        labels, n_classes = np.asarray(train["labels"]), train["logits"].shape[1]
        counts = np.bincount(labels, minlength=n_classes)
        if counts.min() < 1:
            raise ValueError(f"every class needs a training image, got counts {counts.tolist()}")
        means = np.stack([z[labels == k].mean(axis=0) for k in range(n_classes)])
        whole = z.mean(axis=0)
        self.fitted = (means, _whitener(z - means[labels]), whole, _whitener(z - whole))
        return {"train_images": len(z), "rank": int(self.fitted[1].shape[1])}  # rank: the directions kept

    def apply(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The score, higher = more uncertain: the smallest class distance minus the global one, (N,)."""
        assert self.fitted is not None, "fit first"
        means, shared, whole, background = self.fitted
        z = np.asarray(arrays["features"], dtype=np.float64)
        w, mu = z @ shared, means @ shared  # whitened: squared distances are squared norms
        class_distances = (w**2).sum(axis=1)[:, None] - 2 * w @ mu.T + (mu**2).sum(axis=1)[None, :]  # (N, K)
        global_distance = (((z - whole) @ background) ** 2).sum(axis=1)
        return {"rmds": class_distances.min(axis=1) - global_distance}

    def diagnose(self, test: Mapping[str, np.ndarray]) -> dict[str, Any]:
        return {}
