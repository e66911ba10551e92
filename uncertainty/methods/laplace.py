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

What the data cannot identify. Adding one vector v to every class's weights adds v^T z̃ to all K
logits, which the softmax cannot see: Λ_n 1 = 0, so H is zero on those D + 1 directions (129
eigenvalues at zero). The isotropic prior (laplace-torch's) gives them variance 1/λ anyway; the
`identifiable` prior leaves them out: the posterior, its evidence and λ live on the complement
(θ's class-centred part, P − (D + 1) = 1,161 dimensions). On the logits, the identifiable
posterior's covariance is C Σ_f C, C = I − 11^T/K, where Σ_f = J Σ J^T is the isotropic one's at
the same λ (H commutes with the centring), so the two priors differ only in that shared variance
and in the λ their evidence picks.

The prior precision maximises the Laplace approximation of the marginal likelihood (the
evidence) with the weights held at the trained ones, as laplace-torch's
`optimize_prior_precision(method="marglik")`:

    log p(D | λ) ≈ log p(D | θ*) − λ/2 ||θ*||² + P/2 log λ − 1/2 sum_i log(e_i + λ),

e_i the eigenvalues of H (the 2π terms cancel); P, θ* and e_i are the subspace's under the
identifiable prior.

The predictive integrates the softmax over the logits' Gaussian N(f*, Σ_f), one of three links:
* `probit`: each logit shrunk by its own variance, softmax(f*_c / sqrt(1 + π/8 Var f_c)) (MacKay
  1992; laplace-torch's). It reads every logit alone, so the shared variance the softmax cannot see
  flattens the prediction as much as variance it can.
* `mc`: E[softmax(f)] by Monte Carlo over f ~ N(f*, C Σ_f C), seeded draws per image: the predictive
  the posterior implies (centring changes no draw's softmax, and makes the draws the same under
  either prior at one λ).
* `pairwise`: the closed form that reads the covariance of logit differences (the mean-field
  approximation of Lu, Ie & Sha 2020): p_k ∝ 1 / sum_j exp(−(f*_k − f*_j) / sqrt(1 + π/8 Var(f_k − f_j))),
  normalised. With two classes it is MacKay's probit of the one logit difference; a shift shared by
  all logits cancels in every difference.
* `centred`: the per-logit probit on the centred covariance C Σ_f C (the probit of the identifiable
  posterior), kept as an option; the measured comparison with `mc` is in docs/params.md.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.special
from pydantic import BaseModel, ConfigDict, Field, field_validator

LOG_PRIOR_BOUNDS = (np.log(1e-6), np.log(1e6))  # the search range of log λ
LINKS = ("probit", "mc", "pairwise", "centred")
PRIORS = ("isotropic", "identifiable")
CHUNK = 1024  # images per block of the (N, K, K) logit covariances: ~100 MB of intermediates


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


def centring(n_classes: int) -> np.ndarray:
    """C = I − 11^T/K, (K, K): removes what all K logits share."""
    return np.eye(n_classes) - 1.0 / n_classes


def identifiable_basis(n_classes: int, width: int) -> np.ndarray:
    """An orthonormal basis (P, P − (D + 1)) of the class-centred weights, the directions the softmax sees."""
    classes = scipy.linalg.null_space(np.ones((1, n_classes)))  # (K, K − 1), orthonormal, ⟂ 1
    return np.kron(classes, np.eye(width))  # θ is class-major: index c (D + 1) + w


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


# --------------------------------------------------------------------------- the links


def probit(logits: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """softmax(f_c / sqrt(1 + π/8 Var f_c)): each logit by its own variance; (N, K), (N, K, K) -> (N, K)."""
    return probit_of_variances(logits, np.diagonal(covariances, axis1=1, axis2=2))


def probit_of_variances(logits: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """`probit` from the logits' variances alone (N, K)."""
    return scipy.special.softmax(logits / np.sqrt(1.0 + np.pi / 8.0 * variances), axis=1)


def centred(covariances: np.ndarray) -> np.ndarray:
    """C Σ_f C for each image, (N, K, K): the logits' covariance without what all of them share."""
    c = centring(covariances.shape[-1])
    return c @ covariances @ c


def centred_probit(logits: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """The per-logit probit of the centred covariance, (N, K)."""
    return probit(logits, centred(covariances))


def pairwise_probit(logits: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """p_k ∝ 1 / sum_j exp(−(f_k − f_j) / sqrt(1 + π/8 Var(f_k − f_j))), normalised; (N, K)."""
    variances = np.diagonal(covariances, axis1=1, axis2=2)
    difference_var = variances[:, :, None] + variances[:, None, :] - 2.0 * covariances  # (N, K, K)
    differences = logits[:, :, None] - logits[:, None, :]
    inverse = scipy.special.logsumexp(-differences / np.sqrt(1.0 + np.pi / 8.0 * difference_var), axis=2)
    return scipy.special.softmax(-inverse, axis=1)  # normalises 1 / sum_j: the K values need not sum to 1


def monte_carlo(
    logits: np.ndarray, covariances: np.ndarray, samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """E[softmax(f)], f ~ N(f*, C Σ_f C) per image, by `samples` draws: (mean (N, K), the variance of the
    draws' softmax (N, K), for the Monte Carlo error). Centring changes no draw's softmax."""
    values, vectors = np.linalg.eigh(centred(covariances))  # C Σ_f C has rank K − 1: eigh, not Cholesky
    roots = vectors * np.sqrt(np.maximum(values, 0.0))[:, None, :]  # (N, K, K), roots roots^T = C Σ_f C
    noise = rng.standard_normal((samples, *logits.shape))  # (S, N, K)
    drawn = logits + np.einsum("nkj,snj->snk", roots, noise, optimize=True)
    exps = np.exp(drawn - drawn.max(axis=2, keepdims=True))  # softmax by hand: scipy's takes 3x as long here
    probs = exps / exps.sum(axis=2, keepdims=True)
    return probs.mean(axis=0), probs.var(axis=0, ddof=1)


def _monte_carlo_blocks(
    logits: np.ndarray, covariances: np.ndarray, samples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """`monte_carlo` over blocks of CHUNK images, so the (S, block, K) draws stay small; one generator, so
    the draws depend on the seed alone."""
    rng = np.random.default_rng(seed)
    parts = [
        monte_carlo(logits[i : i + CHUNK], covariances[i : i + CHUNK], samples, rng)
        for i in range(0, len(logits), CHUNK)
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@dataclass
class Posterior:
    """The Gaussian over the last layer: mean θ* (K, D + 1) and the precision's eigendecomposition
    (on the whole weight space, or under the identifiable prior on the class-centred subspace)."""

    weights: np.ndarray  # (K, D + 1)
    eigenvalues: np.ndarray  # (R,) of the GGN on the space, clipped at 0 against round-off
    eigenvectors: np.ndarray  # (P, R), columns, R = P or P − (D + 1)
    prior_precision: float
    # Σ_f per set already computed (not copied by dataclasses.replace: another λ is another posterior)
    _covariances: dict[bytes, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)

    def covariance(self) -> np.ndarray:
        """(H + λ I)^-1 on the space, (P, P)."""
        return (self.eigenvectors / (self.eigenvalues + self.prior_precision)) @ self.eigenvectors.T

    @functools.cached_property
    def _blocks(self) -> np.ndarray:
        """The covariance as (K, D + 1, K, D + 1) blocks: Σ_cc' between class c's and c''s weights."""
        n_classes, width = self.weights.shape
        return self.covariance().reshape(n_classes, width, n_classes, width)

    def logits(self, features: np.ndarray) -> np.ndarray:
        return augment(features) @ self.weights.T

    def logit_variances(self, features: np.ndarray) -> np.ndarray:
        """Var f_c for each image and class, (N, K): z̃^T Σ_cc z̃ with Σ_cc the class's diagonal block."""
        z = augment(features)
        blocks = self._blocks
        return np.stack([((z @ blocks[c, :, c, :]) * z).sum(axis=1) for c in range(len(blocks))], axis=1)

    def logit_covariances(self, features: np.ndarray) -> np.ndarray:
        """Σ_f = J Σ J^T for each image, (N, K, K): Cov(f_c, f_c') = z̃^T Σ_cc' z̃; kept per set (by its
        digest), so the links of one posterior compute it once."""
        key = _digest(features)
        if key in self._covariances:
            return self._covariances[key]
        z = augment(features)
        n_classes, width = self.weights.shape
        flat = self._blocks.transpose(1, 0, 2, 3).reshape(width, -1)  # (D + 1, K K (D + 1))
        out = np.empty((len(z), n_classes, n_classes))
        for start in range(0, len(z), CHUNK):
            zc = z[start : start + CHUNK]
            left = (zc @ flat).reshape(len(zc), n_classes, n_classes, width)
            out[start : start + CHUNK] = np.einsum("ncdw,nw->ncd", left, zc)
        self._covariances[key] = out
        return out

    def _projected(self, features: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """A = J V per chunk of images, (n, K, R): the logits' coordinates on the posterior's eigenvectors,
        so that Σ_f(λ) = A diag(1 / (e + λ)) A^T at any prior precision λ."""
        z = augment(features)
        n_classes, width = self.weights.shape
        rank = self.eigenvectors.shape[1]
        vectors = self.eigenvectors.reshape(n_classes, width, rank).transpose(1, 0, 2).reshape(width, -1)
        for start in range(0, len(z), CHUNK):
            yield start, (z[start : start + CHUNK] @ vectors).reshape(-1, n_classes, rank)

    def logit_covariances_grid(self, features: np.ndarray, precisions: Sequence[float]) -> list[np.ndarray]:
        """Σ_f at each prior precision of `precisions`, (N, K, K) each, from one projection (`_projected`)."""
        n_classes = self.weights.shape[0]
        out = [np.empty((len(features), n_classes, n_classes)) for _ in precisions]
        for start, projected in self._projected(features):
            for found, lam in zip(out, precisions, strict=True):
                scaled = projected / (self.eigenvalues + lam)
                found[start : start + CHUNK] = scaled @ projected.transpose(0, 2, 1)
        return out

    def logit_variances_grid(
        self, features: np.ndarray, precisions: Sequence[float], centred: bool = False
    ) -> np.ndarray:
        """Var f_c at each prior precision of `precisions`, (λ, N, K), from one projection: Σ_r A_cr² / (e_r + λ),
        every λ in one matrix product; `centred`: of the centred logits f_c − mean_k f_k (the diagonal of
        C Σ_f C, what the centred probit reads)."""
        n_classes = self.weights.shape[0]
        inverse = 1.0 / (
            self.eigenvalues[:, None] + np.asarray(precisions, dtype=np.float64)[None, :]
        )  # (R, λ)
        out = np.empty((len(precisions), len(features), n_classes))
        for start, projected in self._projected(features):
            if centred:
                projected = projected - projected.mean(axis=1, keepdims=True)
            found = (projected * projected).reshape(-1, projected.shape[2]) @ inverse  # (n K, λ)
            out[:, start : start + CHUNK] = found.reshape(-1, n_classes, len(precisions)).transpose(2, 0, 1)
        return out

    def probit(self, features: np.ndarray) -> np.ndarray:
        """The probit predictive (N, K) from the diagonal blocks alone (MacKay 1992; laplace-torch's)."""
        return scipy.special.softmax(
            self.logits(features) / np.sqrt(1.0 + np.pi / 8.0 * self.logit_variances(features)), axis=1
        )

    def sample_weights(self, samples: int, seed: int) -> np.ndarray:
        """`samples` draws of the last layer from the Gaussian, (S, K, D + 1)."""
        rng = np.random.default_rng(seed)
        scale = self.eigenvectors / np.sqrt(self.eigenvalues + self.prior_precision)  # Σ = scale scale^T
        noise = rng.standard_normal((samples, scale.shape[1]))
        return self.weights + (noise @ scale.T).reshape(samples, *self.weights.shape)


def space(
    hessian: np.ndarray, weights: np.ndarray, prior: str, vectors: bool = True
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """The posterior's space under `prior`: the GGN's eigenvalues (R,) and eigenvectors (P, R) on it (None
    without `vectors`: the evidence needs the eigenvalues alone), and ||θ*||² of the trained weights' part
    in it (the evidence's prior term)."""
    if prior == "isotropic":
        matrix, basis, norm_sq = hessian, None, float((weights**2).sum())
    elif prior == "identifiable":
        basis = identifiable_basis(*weights.shape)  # (P, R)
        matrix, norm_sq = basis.T @ hessian @ basis, float(((weights - weights.mean(axis=0)) ** 2).sum())
    else:
        raise ValueError(f"prior should be one of {PRIORS}, got {prior!r}")
    if not vectors:
        return np.maximum(np.linalg.eigvalsh(matrix), 0.0), None, norm_sq
    eigenvalues, inner = np.linalg.eigh(matrix)
    return np.maximum(eigenvalues, 0.0), inner if basis is None else basis @ inner, norm_sq


def fit(
    features: np.ndarray,
    labels: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    prior_precision: float | None = None,
    prior: str = "isotropic",
) -> tuple[Posterior, dict[str, Any]]:
    """The last-layer Laplace posterior around (kernel (D, K), bias (K,)), fitted on the training images.

    prior: "isotropic" (every weight direction) or "identifiable" (the class-centred ones only);
    prior_precision None: the evidence's maximiser. Returns the posterior and what was fitted: the
    evidence's terms (so a grid of prior precisions can be scored without refitting) and the λ each
    prior's evidence picks.
    """
    if prior not in PRIORS:
        raise ValueError(f"prior should be one of {PRIORS}, got {prior!r}")
    weights = weights_of(kernel, bias)
    z = augment(features)
    log_probs = scipy.special.log_softmax(z @ weights.T, axis=1)
    y = np.asarray(labels)
    if y.shape != (len(z),) or y.min() < 0 or y.max() >= weights.shape[0]:
        raise ValueError(f"need one label in [0, {weights.shape[0]}) per image, got shape {y.shape}")
    log_likelihood = float(log_probs[np.arange(len(y)), y].sum())
    hessian = ggn(z, np.exp(log_probs))
    spaces = {name: space(hessian, weights, name, vectors=name == prior) for name in PRIORS}
    chosen = {
        name: fit_prior_precision(e, norm_sq, log_likelihood) for name, (e, _, norm_sq) in spaces.items()
    }
    eigenvalues, eigenvectors, map_norm_sq = spaces[prior]
    assert eigenvectors is not None
    if prior_precision is None:
        prior_precision = chosen[prior]
    evidence = {
        "log_likelihood": log_likelihood,
        "map_norm_sq": map_norm_sq,
        "eigenvalues": eigenvalues,
        "prior_precision_by_prior": chosen,
    }
    return Posterior(weights, eigenvalues, eigenvectors, float(prior_precision)), evidence


def _digest(*arrays: np.ndarray) -> bytes:
    """What the arrays hold (dtype, shape, bytes), in 32 bytes: the key of a result computed once."""
    found = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        found.update(f"{array.dtype}{array.shape}".encode())
        found.update(array.data)
    return found.digest()


_FITTED: dict[bytes, tuple[Posterior, dict[str, Any]]] = {}  # the last fits, by their inputs' digest


def shared_fit(
    features: np.ndarray, labels: np.ndarray, kernel: np.ndarray, bias: np.ndarray, prior: str
) -> tuple[Posterior, dict[str, Any]]:
    """`fit` at the evidence's λ, computed once for the same inputs: the predictors that differ only in
    their link (probit, centred, mc) share one posterior. The last two fits are kept (one model's)."""
    key = prior.encode() + _digest(features, labels, kernel, bias)
    if key not in _FITTED:
        while len(_FITTED) >= 2:
            del _FITTED[next(iter(_FITTED))]
        _FITTED[key] = fit(features, labels, kernel, bias, prior=prior)
    return _FITTED[key]


def predictive(
    posterior: Posterior, features: np.ndarray, link: str, samples: int = 0, seed: int = 0
) -> np.ndarray:
    """The predictive (N, K) of `link` (LINKS) on the features (N, D)."""
    if link == "probit":
        return posterior.probit(features)
    logits, covariances = posterior.logits(features), posterior.logit_covariances(features)
    if link == "pairwise":
        return pairwise_probit(logits, covariances)
    if link == "centred":
        return centred_probit(logits, covariances)
    if link == "mc":
        return _monte_carlo_blocks(logits, covariances, samples, seed)[0]
    raise ValueError(f"link should be one of {LINKS}, got {link!r}")


def monte_carlo_error(
    posterior: Posterior, features: np.ndarray, labels: np.ndarray, samples: int, seed: int
) -> dict[str, float]:
    """The `mc` link's test NLL and its Monte Carlo error: the standard error over the (independent,
    per image) draws by the delta method, sqrt(sum_n Var p̂_n(y) / p̂_n(y)²) / N, and the bias of
    −log of a mean of draws, about mean_n Var p̂_n(y) / (2 p̂_n(y)²)."""
    logits, covariances = posterior.logits(features), posterior.logit_covariances(features)
    return _nll_error(*_monte_carlo_blocks(logits, covariances, samples, seed), labels, samples)


def _nll_error(mean: np.ndarray, variance: np.ndarray, labels: np.ndarray, samples: int) -> dict[str, float]:
    """`monte_carlo_error` from the draws' mean and variance (N, K)."""
    rows = np.arange(len(labels))
    p = mean[rows, labels]
    relative = variance[rows, labels] / samples / np.maximum(p, 1e-12) ** 2  # Var(log p̂) per image
    return {
        "nll": float(-np.log(np.maximum(p, 1e-12)).mean()),
        "nll_standard_error": float(np.sqrt(relative.sum()) / len(labels)),
        "nll_bias": float(relative.mean() / 2),
    }


class Options(BaseModel):
    """A laplace predictor's settings (params.yaml predictors.<name>.options)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    link: Literal["probit", "mc", "pairwise", "centred"] = Field(
        "probit",
        description="the predictive: probit (per logit, laplace-torch's), mc (draws from the full logit "
        "covariance), pairwise (closed form on logit differences) or centred (probit of the centred logits)",
    )
    prior: Literal["isotropic", "identifiable"] = Field(
        "isotropic",
        description="isotropic: every last-layer weight direction (laplace-torch's); identifiable: only the "
        "directions the softmax can see (the class-centred weights)",
    )
    mc_samples: int = Field(500, ge=2, description="draws per image of the mc predictive")
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
        self._drawn: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}  # the mc link's draws per set, by digest

    def _monte_carlo(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mc link's (mean, variance) on a set, drawn once: `diagnose` reads the test set's again."""
        assert self.posterior is not None, "fit first"
        key = _digest(features)
        if key not in self._drawn:
            logits, covariances = self.posterior.logits(features), self.posterior.logit_covariances(features)
            self._drawn[key] = _monte_carlo_blocks(
                logits, covariances, self.options.mc_samples, self.options.seed
            )
        return self._drawn[key]

    def fit(self, train: Mapping[str, np.ndarray]) -> dict[str, Any]:
        arrays = (train["features"], train["labels"], train["kernel"], train["bias"])
        self.posterior, evidence = shared_fit(*arrays, prior=self.options.prior)
        terms = (evidence["eigenvalues"], evidence["map_norm_sq"], evidence["log_likelihood"])
        grid = self.options.prior_precisions
        return {
            "prior": self.options.prior,
            "prior_precision": self.posterior.prior_precision,
            "prior_precision_by_prior": evidence[
                "prior_precision_by_prior"
            ],  # λ as each prior's evidence picks it
            "log_evidence": float(log_marginal_likelihood(self.posterior.prior_precision, *terms)),
            "parameters": len(evidence["eigenvalues"]),
            "train_images": len(train["labels"]),
            "grid": {
                "prior_precision": list(grid),
                "log_evidence": [float(x) for x in log_marginal_likelihood(np.asarray(grid), *terms)],
            },
        }

    def apply(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        assert self.posterior is not None, "fit first"
        if self.options.link == "mc":
            return {"mean": self._monte_carlo(arrays["features"])[0]}
        return {"mean": predictive(self.posterior, arrays["features"], self.options.link)}

    def diagnose(self, test: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """A closed-form link's test NLL at each prior precision of the grid (shown, never used to fit);
        the mc link's test NLL and its Monte Carlo error instead (a grid of draws would cost minutes)."""
        assert self.posterior is not None, "fit first"
        options, labels, features = self.options, test["labels"], test["features"]
        if options.link == "mc":
            return {"mc_test": _nll_error(*self._monte_carlo(features), labels, options.mc_samples)}
        grid = [float(lam) for lam in options.prior_precisions]
        logits = self.posterior.logits(features)
        if options.link == "pairwise":  # the covariance of every logit difference
            found = [
                pairwise_probit(logits, c) for c in self.posterior.logit_covariances_grid(features, grid)
            ]
        else:  # each logit by its own variance (centred: the centred logits'), every λ at once
            variances = self.posterior.logit_variances_grid(features, grid, centred=options.link == "centred")
            found = [probit_of_variances(logits, v) for v in variances]
        rows = np.arange(len(labels))
        return {
            "grid_test_nll": [
                float(-np.log(np.maximum(probs[rows, labels], 1e-12)).mean()) for probs in found
            ]
        }
