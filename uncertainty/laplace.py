"""Last-layer Laplace approximation of a trained softmax classifier (Daxberger et al. 2021, "Laplace Redux").

The CNN's last Dense layer maps the penultimate features z (D = 128) to the logits
f = W^T [z; 1] (K = 10 classes, P = K (D + 1) = 1,290 weights with the biases). Around the
trained weights, the posterior over W is approximated by a Gaussian whose precision is

    H + prior_precision * I,   H = sum_n Λ_n ⊗ z̃_n z̃_n^T,   Λ_n = diag(p_n) − p_n p_n^T,

the generalized Gauss-Newton (GGN) of the summed cross-entropy over the training images,
z̃ = [z; 1], p = softmax(f). For the last layer of a softmax classifier the logits are linear
in W, so the GGN is the exact Hessian. Weights are ordered class by class (θ = vec of the
(K, D + 1) matrix), so H's (c, c') block is sum_n Λ_n[c, c'] z̃_n z̃_n^T. Full, not
Kronecker-factored: at P = 1,290 the full matrix and its eigendecomposition take seconds.

The prior precision maximises the Laplace approximation of the marginal likelihood (the
evidence) with the weights held at the trained ones, as laplace-torch's
`optimize_prior_precision(method="marglik")`:

    log p(D | λ) ≈ log p(D | θ*) − λ/2 ||θ*||² + P/2 log λ − 1/2 sum_i log(e_i + λ),

e_i the eigenvalues of H (the 2π terms cancel). The predictive integrates the logits'
Gaussian N(f*, J Σ J^T): the probit approximation softmax(f*_c / sqrt(1 + π/8 Var f_c)), or
Monte Carlo over weight samples.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import scipy.optimize
import scipy.special
from pydantic import BaseModel, ConfigDict, Field, field_validator

from uncertainty.summaries import summarize_passes

LOG_PRIOR_BOUNDS = (np.log(1e-6), np.log(1e6))  # the search range of log λ
LINKS = ("probit", "mc")


def augment(features: np.ndarray) -> np.ndarray:
    """[z; 1]: the features with a column of ones for the bias, float64 (N, D + 1)."""
    z = np.asarray(features, dtype=np.float64)
    return np.concatenate([z, np.ones((len(z), 1))], axis=1)


def weights_of(kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The last layer as one (K, D + 1) matrix, row c = class c's kernel column and bias (θ = its rows, in order)."""
    return np.concatenate([np.asarray(kernel, np.float64), np.asarray(bias, np.float64)[None, :]], axis=0).T


def ggn(features: np.ndarray, probs: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """sum_n Λ_n ⊗ z̃_n z̃_n^T, (P, P), for augmented features z̃ (N, D + 1) and probabilities p (N, K)."""
    z = np.asarray(features, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    n_classes, width = p.shape[1], z.shape[1]
    blocks = np.zeros((n_classes, n_classes, width, width))
    for start in range(0, len(z), chunk):
        zc, pc = z[start : start + chunk], p[start : start + chunk]
        for c in range(n_classes):
            for d in range(c, n_classes):
                lam = (pc[:, c] if c == d else 0.0) - pc[:, c] * pc[:, d]  # Λ_n[c, d], (n,)
                blocks[c, d] += zc.T @ (lam[:, None] * zc)
    for c in range(n_classes):
        for d in range(c):
            blocks[c, d] = blocks[d, c]  # Λ is symmetric, and so each z̃ z̃^T
    return blocks.transpose(0, 2, 1, 3).reshape(n_classes * width, n_classes * width)


def log_marginal_likelihood(
    prior_precision: float | np.ndarray, eigenvalues: np.ndarray, map_norm_sq: float, log_likelihood: float
) -> np.ndarray:
    """The Laplace evidence at each prior precision (weights held at the trained θ*)."""
    lam = np.asarray(prior_precision, dtype=np.float64)
    e = np.asarray(eigenvalues, dtype=np.float64)
    log_det = np.log(e[:, None] + lam.reshape(1, -1)).sum(axis=0).reshape(lam.shape)
    return log_likelihood - 0.5 * lam * map_norm_sq + 0.5 * len(e) * np.log(lam) - 0.5 * log_det


def fit_prior_precision(eigenvalues: np.ndarray, map_norm_sq: float, log_likelihood: float) -> float:
    """The prior precision that maximises the evidence, searched on log λ in LOG_PRIOR_BOUNDS."""

    def negative(log_lam: float) -> float:
        return -float(log_marginal_likelihood(np.exp(log_lam), eigenvalues, map_norm_sq, log_likelihood))

    found = scipy.optimize.minimize_scalar(negative, bounds=LOG_PRIOR_BOUNDS, method="bounded",
                                           options={"xatol": 1e-8})  # fmt: skip
    return float(np.exp(found.x))


@dataclass
class Posterior:
    """The Gaussian over the last layer: mean θ* (K, D + 1) and the precision's eigendecomposition."""

    weights: np.ndarray  # (K, D + 1)
    eigenvalues: np.ndarray  # (P,) of the GGN, clipped at 0 against round-off
    eigenvectors: np.ndarray  # (P, P), columns
    prior_precision: float

    def covariance(self) -> np.ndarray:
        """(H + λ I)^-1, (P, P)."""
        return (self.eigenvectors / (self.eigenvalues + self.prior_precision)) @ self.eigenvectors.T

    @functools.cached_property
    def _diagonal_blocks(self) -> np.ndarray:
        """Σ_cc, each class's (D + 1, D + 1) block of the covariance: (K, D + 1, D + 1)."""
        n_classes, width = self.weights.shape
        sigma = self.covariance().reshape(n_classes, width, n_classes, width)
        return np.stack([sigma[c, :, c, :] for c in range(n_classes)])

    def logit_variances(self, features: np.ndarray) -> np.ndarray:
        """Var f_c for each image and class, (N, K): z̃^T Σ_cc z̃ with Σ_cc the class's diagonal block."""
        z = augment(features)
        return np.stack([((z @ block) * z).sum(axis=1) for block in self._diagonal_blocks], axis=1)

    def probit(self, features: np.ndarray) -> np.ndarray:
        """The probit predictive (N, K): softmax of each logit shrunk by its variance (MacKay 1992)."""
        logits = augment(features) @ self.weights.T
        return scipy.special.softmax(
            logits / np.sqrt(1.0 + np.pi / 8.0 * self.logit_variances(features)), axis=1
        )

    def sample_weights(self, samples: int, seed: int) -> np.ndarray:
        """`samples` draws of the last layer from the Gaussian, (S, K, D + 1)."""
        rng = np.random.default_rng(seed)
        scale = self.eigenvectors / np.sqrt(self.eigenvalues + self.prior_precision)  # Σ = scale scale^T
        noise = rng.standard_normal((samples, scale.shape[1]))
        return self.weights + (noise @ scale.T).reshape(samples, *self.weights.shape)

    def sample_probs(self, features: np.ndarray, samples: int, seed: int) -> np.ndarray:
        """Monte Carlo predictive: the softmax under `samples` weight draws, (S, N, K)."""
        z = augment(features)
        return np.stack(
            [scipy.special.softmax(z @ theta.T, axis=1) for theta in self.sample_weights(samples, seed)]
        )


def fit(
    features: np.ndarray,
    labels: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    prior_precision: float | None = None,
) -> tuple[Posterior, dict[str, Any]]:
    """The last-layer Laplace posterior around (kernel (D, K), bias (K,)), fitted on the training images.

    prior_precision None: the evidence's maximiser. Returns the posterior and what was fitted
    (the evidence's terms, so a grid of prior precisions can be scored without refitting).
    """
    weights = weights_of(kernel, bias)
    z = augment(features)
    logits = z @ weights.T
    log_probs = scipy.special.log_softmax(logits, axis=1)
    y = np.asarray(labels)
    if y.shape != (len(z),) or y.min() < 0 or y.max() >= weights.shape[0]:
        raise ValueError(f"need one label in [0, {weights.shape[0]}) per image, got shape {y.shape}")
    log_likelihood = float(log_probs[np.arange(len(y)), y].sum())
    eigenvalues, eigenvectors = np.linalg.eigh(ggn(z, np.exp(log_probs)))
    eigenvalues = np.maximum(eigenvalues, 0.0)
    map_norm_sq = float((weights**2).sum())
    if prior_precision is None:
        prior_precision = fit_prior_precision(eigenvalues, map_norm_sq, log_likelihood)
    evidence = {"log_likelihood": log_likelihood, "map_norm_sq": map_norm_sq, "eigenvalues": eigenvalues}
    return Posterior(weights, eigenvalues, eigenvectors, float(prior_precision)), evidence


class Options(BaseModel):
    """A laplace predictor's settings (params.yaml predictors.<name>.options)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    link: Literal["probit", "mc"] = Field(
        "probit", description="the predictive: probit, or MC over weight draws"
    )
    mc_samples: int = Field(100, ge=2, description="weight draws of the mc predictive")
    seed: int = Field(84, ge=0, le=2**31 - 1, description="seed of the mc predictive's draws")
    prior_precisions: list[float] = Field(
        [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4],
        min_length=1,
        description="a grid shown beside the fitted prior precision: evidence and test NLL at each",
    )

    @field_validator("prior_precisions")
    @classmethod
    def _positive(cls, values: list[float]) -> list[float]:
        if any(value <= 0 for value in values):
            raise ValueError("every prior precision should be > 0")
        return values


class Method:
    """The post-hoc stage's interface: fit on one CNN's training-image features, then predict any set."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.posterior: Posterior | None = None

    def fit(self, train: Mapping[str, np.ndarray]) -> dict[str, Any]:
        self.posterior, evidence = fit(train["features"], train["labels"], train["kernel"], train["bias"])
        terms = (evidence["eigenvalues"], evidence["map_norm_sq"], evidence["log_likelihood"])
        grid = self.options.prior_precisions
        return {
            "prior_precision": self.posterior.prior_precision,
            "log_evidence": float(log_marginal_likelihood(self.posterior.prior_precision, *terms)),
            "parameters": int(self.posterior.weights.size),
            "train_images": len(train["labels"]),
            "grid": {
                "prior_precision": list(grid),
                "log_evidence": [float(x) for x in log_marginal_likelihood(np.asarray(grid), *terms)],
            },
        }

    def apply(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        assert self.posterior is not None, "fit first"
        if self.options.link == "probit":
            return {"mean": self.posterior.probit(arrays["features"])}
        stack = self.posterior.sample_probs(arrays["features"], self.options.mc_samples, self.options.seed)
        return summarize_passes(stack)

    def diagnose(self, test: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """The test NLL of the probit predictive at each prior precision of the grid (shown, never used to fit)."""
        assert self.posterior is not None, "fit first"
        labels = test["labels"]
        nll = []
        for lam in self.options.prior_precisions:
            probs = replace(self.posterior, prior_precision=float(lam)).probit(test["features"])
            nll.append(float(-np.log(np.maximum(probs[np.arange(len(labels)), labels], 1e-12)).mean()))
        return {"grid_test_nll": nll}
