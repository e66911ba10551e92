"""The post-hoc methods against independent computations: finite differences, scipy, a grid search."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import scipy.stats

from uncertainty import feature_density, laplace, metrics
from uncertainty.predictors import logit_scores


def _logistic_problem(n: int = 400, d: int = 3, k: int = 4, seed: int = 0):
    """Features, labels and a last layer fitted by a few hundred gradient steps (a MAP of its own)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, d))
    true = rng.normal(size=(d, k)) * 2
    y = np.array([rng.choice(k, p=p) for p in scipy.special.softmax(z @ true, axis=1)])
    kernel, bias = np.zeros((d, k)), np.zeros(k)
    for _ in range(500):
        p = scipy.special.softmax(z @ kernel + bias, axis=1)
        p[np.arange(n), y] -= 1
        kernel -= 0.5 * z.T @ p / n
        bias -= 0.5 * p.mean(axis=0)
    return z, y, kernel, bias


def _summed_loss(theta: np.ndarray, z: np.ndarray, y: np.ndarray, shape: tuple[int, int]) -> float:
    logits = laplace.augment(z) @ theta.reshape(shape).T
    return float(-scipy.special.log_softmax(logits, axis=1)[np.arange(len(y)), y].sum())


def test_ggn_equals_the_finite_difference_hessian_of_the_summed_loss():
    z, y, kernel, bias = _logistic_problem(n=30, d=2, k=3)
    weights = laplace.weights_of(kernel, bias)
    probs = scipy.special.softmax(laplace.augment(z) @ weights.T, axis=1)
    h = laplace.ggn(laplace.augment(z), probs, chunk=7)  # chunks that do not divide N
    theta, step = weights.ravel(), 1e-4
    numeric = np.empty((theta.size, theta.size))
    for i in range(theta.size):
        for j in range(theta.size):
            shifted = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                t = theta.copy()
                t[i] += si * step
                t[j] += sj * step
                shifted.append(_summed_loss(t, z, y, weights.shape))
            numeric[i, j] = (shifted[0] - shifted[1] - shifted[2] + shifted[3]) / (4 * step**2)
    np.testing.assert_allclose(h, numeric, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h, h.T)


def test_the_evidence_maximiser_matches_a_grid_search():
    z, y, kernel, bias = _logistic_problem()
    posterior, evidence = laplace.fit(z, y, kernel, bias)
    terms = (evidence["eigenvalues"], evidence["map_norm_sq"], evidence["log_likelihood"])
    grid = np.exp(np.linspace(*laplace.LOG_PRIOR_BOUNDS, 200001))
    values = laplace.log_marginal_likelihood(grid, *terms)
    best = grid[np.argmax(values)]
    assert 1e-6 < best < 1e6  # an interior maximum: the search range does not bind
    assert posterior.prior_precision == pytest.approx(best, rel=1e-3)
    # and the log-determinant term equals numpy's, computed another way
    lam = posterior.prior_precision
    h = laplace.ggn(
        laplace.augment(z), scipy.special.softmax(laplace.augment(z) @ posterior.weights.T, axis=1)
    )
    direct = (
        evidence["log_likelihood"]
        - 0.5 * lam * evidence["map_norm_sq"]
        + 0.5 * h.shape[0] * np.log(lam)
        - 0.5 * np.linalg.slogdet(h + lam * np.eye(h.shape[0]))[1]
    )
    assert float(laplace.log_marginal_likelihood(lam, *terms)) == pytest.approx(direct, rel=1e-10)


def test_the_probit_and_mc_predictives():
    z, y, kernel, bias = _logistic_problem()
    posterior, _ = laplace.fit(z, y, kernel, bias)
    logits = z @ kernel + bias
    # an infinitely confident prior: no weight uncertainty, the predictive is the softmax
    sharp = laplace.Posterior(posterior.weights, posterior.eigenvalues, posterior.eigenvectors, 1e12)
    np.testing.assert_allclose(sharp.probit(z), scipy.special.softmax(logits, axis=1), atol=1e-6)
    # the logit variances are the diagonal of J Σ J^T, computed here from the full covariance
    sigma = posterior.covariance()
    k = posterior.weights.shape[0]
    for n in range(3):
        jacobian = np.kron(np.eye(k), laplace.augment(z[n : n + 1]))  # (K, P), class-major θ
        np.testing.assert_allclose(
            posterior.logit_variances(z[n : n + 1])[0], np.diag(jacobian @ sigma @ jacobian.T), rtol=1e-10
        )
    # weight uncertainty makes the predictive less confident, both ways
    probit, mc = posterior.probit(z), posterior.sample_probs(z, 400, seed=1).mean(axis=0)
    softmax = scipy.special.softmax(logits, axis=1)
    assert (probit.max(axis=1) <= softmax.max(axis=1) + 1e-12).all()
    assert mc.max(axis=1).mean() < softmax.max(axis=1).mean()
    # the draws have the posterior's mean and covariance
    draws = posterior.sample_weights(40000, seed=2).reshape(40000, -1)
    np.testing.assert_allclose(
        draws.mean(axis=0), posterior.weights.ravel(), atol=4 * np.sqrt(sigma.diagonal().max() / 40000)
    )
    np.testing.assert_allclose(np.cov(draws, rowvar=False), sigma, atol=0.05 * sigma.diagonal().max())
    np.testing.assert_array_equal(posterior.sample_probs(z, 3, seed=1), posterior.sample_probs(z, 3, seed=1))


def test_laplace_rejects_labels_out_of_range():
    z, _, kernel, bias = _logistic_problem(n=20)
    with pytest.raises(ValueError, match="one label in \\[0, 4\\)"):
        laplace.fit(z, np.full(20, 4), kernel, bias)


def test_gaussian_log_densities_equal_scipy():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))
    labels = np.repeat(np.arange(3), 100)
    features[labels == 1] += 4
    gaussians = feature_density.fit(features, labels, 3)
    assert gaussians.jitter == 0.0
    points = rng.normal(size=(20, 5))
    expected = np.stack(
        [
            scipy.stats.multivariate_normal(
                features[labels == k].mean(axis=0), np.cov(features[labels == k], rowvar=False)
            ).logpdf(points)
            for k in range(3)
        ],
        axis=1,
    )
    np.testing.assert_allclose(feature_density.class_log_densities(gaussians, points), expected, rtol=1e-10)
    np.testing.assert_allclose(
        feature_density.log_density(gaussians, points),
        scipy.special.logsumexp(expected + np.log(1 / 3), axis=1),
        rtol=1e-10,
    )


def test_a_constant_feature_gets_the_smallest_jitter_that_works():
    rng = np.random.default_rng(4)
    features = rng.normal(size=(200, 4))
    features[:, 2] = 1.0  # constant in every class: every covariance is singular
    labels = np.repeat(np.arange(2), 100)
    gaussians = feature_density.fit(features, labels, 2)
    assert gaussians.jitter > 0
    assert gaussians.jitter == min(j for j in feature_density.JITTERS if j > 0)
    assert np.isfinite(feature_density.log_density(gaussians, features)).all()


def test_feature_density_separates_far_clusters():
    rng = np.random.default_rng(5)
    inside = rng.normal(size=(500, 8))
    labels = rng.integers(0, 2, 500)
    inside[labels == 1] += 3
    outside = rng.normal(size=(500, 8)) + 20
    gaussians = feature_density.fit(inside, labels, 2)
    score_in = -feature_density.log_density(gaussians, inside)
    score_out = -feature_density.log_density(gaussians, outside)
    assert metrics.auroc(score_in, score_out) > 0.999


def test_feature_density_needs_two_images_per_class():
    with pytest.raises(ValueError, match="at least 2 images of each of 3 classes"):
        feature_density.fit(np.zeros((4, 2)), np.array([0, 0, 1, 1]), 3)


def test_energy_is_minus_logsumexp_of_the_logits():
    logits = np.random.default_rng(6).normal(size=(50, 10)) * 5
    scores = logit_scores(logits)
    np.testing.assert_allclose(scores["energy"], -np.log(np.exp(logits).sum(axis=1)), rtol=1e-12)
    np.testing.assert_array_equal(scores["max_logit"], -logits.max(axis=1))
    rotated = logit_scores(logits.reshape(5, 10, 10))  # a leading angle axis is kept
    np.testing.assert_array_equal(rotated["energy"].ravel(), scores["energy"])


def test_every_post_hoc_kind_names_a_module_that_keeps_the_contract() -> None:
    from uncertainty.posthoc import PosthocMethod, method, module
    from uncertainty.predictors import KINDS

    named = [kind.posthoc for kind in KINDS.values() if kind.posthoc]
    assert named == ["uncertainty.feature_density", "uncertainty.laplace"]
    for path in named:
        assert isinstance(method(path, {}), PosthocMethod), path
        assert module(path).Options.model_config.get("extra") == "forbid", path
    with pytest.raises(ValueError, match="uncertainty.metrics: a post-hoc method module needs"):
        module("uncertainty.metrics")


def test_the_laplace_description_reads_the_methods_own_defaults() -> None:
    from uncertainty.laplace import Options
    from uncertainty.predictors import LAPLACE_DEFAULTS

    assert {key: getattr(Options(), key) for key in LAPLACE_DEFAULTS} == LAPLACE_DEFAULTS
