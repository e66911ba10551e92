"""Feature-space density: class-conditional Gaussians on a CNN's penultimate features (DDU).

Mukhoti et al. ("Deep Deterministic Uncertainty", CVPR 2023) fit one Gaussian per class to
the training images' features, each with its own covariance (Gaussian discriminant analysis),
and read the log density of an image's features as its OOD score: low density, far from
every class, is out of distribution. Classification stays the CNN's softmax.

The covariances are per class, as DDU's: with 6,000 images per class and 128 features each
class's estimate is well determined, and a shared covariance (Mahalanobis, Lee et al. 2018)
would blur classes whose features spread differently. A covariance can still be singular
(a feature constant within a class); like DDU, the smallest jitter of JITTERS added to every
diagonal that makes every class's Cholesky factor exist is used, and recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.special
from pydantic import BaseModel, ConfigDict

JITTERS = (0.0, *(10.0**exponent for exponent in range(-12, 1)))  # tried in this order


@dataclass(frozen=True)
class ClassGaussians:
    means: np.ndarray  # (K, D)
    cholesky: np.ndarray  # (K, D, D), lower: covariance_k = L_k L_k^T
    log_priors: np.ndarray  # (K,) log of each class's share of the training images
    jitter: float  # added to every covariance's diagonal


def fit(features: np.ndarray, labels: np.ndarray, n_classes: int) -> ClassGaussians:
    """One Gaussian per class: mean and covariance (ddof 1) of that class's features (N, D), float64."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or y.shape != (len(x),):
        raise ValueError(f"need features (N, D) and labels (N,), got {x.shape} and {y.shape}")
    counts = np.bincount(y, minlength=n_classes)
    if len(counts) != n_classes or counts.min() < 2:
        raise ValueError(
            f"need at least 2 images of each of {n_classes} classes, got counts {counts.tolist()}"
        )
    means = np.stack([x[y == k].mean(axis=0) for k in range(n_classes)])
    covariances = np.stack([np.cov(x[y == k], rowvar=False, ddof=1) for k in range(n_classes)])
    eye = np.eye(x.shape[1])
    for jitter in JITTERS:
        try:
            cholesky = np.stack([np.linalg.cholesky(c + jitter * eye) for c in covariances])
        except np.linalg.LinAlgError:
            continue
        return ClassGaussians(means, cholesky, np.log(counts / counts.sum()), jitter)
    raise ValueError(f"no jitter up to {JITTERS[-1]} makes every class covariance positive definite")


def class_log_densities(gaussians: ClassGaussians, features: np.ndarray) -> np.ndarray:
    """log N(z; mean_k, covariance_k) for every image and class: (N, K)."""
    z = np.asarray(features, dtype=np.float64)
    n_features = z.shape[-1]
    columns = []
    for mean, cholesky in zip(gaussians.means, gaussians.cholesky, strict=True):
        whitened = scipy.linalg.solve_triangular(cholesky, (z - mean).T, lower=True)  # (D, N)
        half_log_det = np.log(np.diag(cholesky)).sum()
        columns.append(-0.5 * (whitened**2).sum(axis=0) - half_log_det - 0.5 * n_features * np.log(2 * np.pi))
    return np.stack(columns, axis=1)


def log_density(gaussians: ClassGaussians, features: np.ndarray) -> np.ndarray:
    """log p(z) = log sum_k prior_k N(z; mean_k, covariance_k): (N,), the mixture's density of each image."""
    return scipy.special.logsumexp(class_log_densities(gaussians, features) + gaussians.log_priors, axis=1)


class Options(BaseModel):
    """feature_density takes no options: the covariances and jitter are DDU's (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Method:
    """The post-hoc stage's interface: fit on one CNN's training-image features, then score any set."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.gaussians: ClassGaussians | None = None

    def fit(self, train: Mapping[str, np.ndarray]) -> dict[str, Any]:
        n_classes = train["logits"].shape[1]
        self.gaussians = fit(train["features"], train["labels"], n_classes)
        return {"jitter": self.gaussians.jitter, "train_images": len(train["labels"])}

    def apply(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The score, higher = more uncertain: minus the log density of the image's features, (N,)."""
        assert self.gaussians is not None, "fit first"
        return {"feature_density": -log_density(self.gaussians, arrays["features"])}

    def diagnose(self, test: Mapping[str, np.ndarray]) -> dict[str, Any]:
        return {}
