"""The post-hoc methods against independent computations: finite differences, scipy, a grid search."""

from __future__ import annotations

import typing
from dataclasses import replace

import numpy as np
import pytest
import scipy.special
import scipy.stats

from uncertainty.evaluation import metrics
from uncertainty.methods import feature_density, laplace
from uncertainty.methods.predictors import logit_scores


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


def test_the_probit_predictive_and_the_logit_covariances():
    z, y, kernel, bias = _logistic_problem()
    posterior, _ = laplace.fit(z, y, kernel, bias)
    logits = z @ kernel + bias
    # an infinitely confident prior: no weight uncertainty, the predictive is the softmax
    sharp = laplace.Posterior(posterior.weights, posterior.eigenvalues, posterior.eigenvectors, 1e12)
    np.testing.assert_allclose(sharp.probit(z), scipy.special.softmax(logits, axis=1), atol=1e-6)
    # the logit covariances are J Σ J^T, computed here from the full covariance, in chunks that do not divide N
    sigma = posterior.covariance()
    k = posterior.weights.shape[0]
    chunked = laplace.CHUNK
    try:
        laplace.CHUNK = 7
        covariances = posterior.logit_covariances(z)
    finally:
        laplace.CHUNK = chunked
    for n in range(3):
        jacobian = np.kron(np.eye(k), laplace.augment(z[n : n + 1]))  # (K, P), class-major θ
        np.testing.assert_allclose(covariances[n], jacobian @ sigma @ jacobian.T, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(
            posterior.logit_variances(z[n : n + 1])[0], np.diag(covariances[n]), rtol=1e-10
        )
    # a grid of prior precisions through the eigenbasis: each the covariance of that posterior
    grid = [1e-2, posterior.prior_precision, 30.0]
    for lam, found in zip(grid, posterior.logit_covariances_grid(z[:50], grid), strict=True):
        other = laplace.Posterior(posterior.weights, posterior.eigenvalues, posterior.eigenvectors, lam)
        np.testing.assert_allclose(found, other.logit_covariances(z[:50]), rtol=1e-9, atol=1e-13)
    # the covariances are kept per set for the posterior's other links, never for another λ
    assert posterior.logit_covariances(z) is posterior.logit_covariances(z.copy())
    wider = replace(posterior, prior_precision=posterior.prior_precision / 10)
    assert (
        np.diagonal(wider.logit_covariances(z), axis1=1, axis2=2) > np.diagonal(covariances, axis1=1, axis2=2)
    ).all()
    # the probit from the diagonal blocks is the probit link on the full covariances
    np.testing.assert_allclose(
        posterior.probit(z), laplace.probit(posterior.logits(z), covariances), rtol=1e-12
    )
    # weight uncertainty makes every link less confident than the softmax
    softmax = scipy.special.softmax(logits, axis=1)
    for link in laplace.LINKS:
        probs = laplace.predictive(posterior, z, link, samples=400, seed=1)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
        assert probs.max(axis=1).mean() < softmax.max(axis=1).mean(), link
    # weight draws have the posterior's mean and covariance, and their logits the logit covariance
    draws = posterior.sample_weights(40000, seed=2)
    flat = draws.reshape(40000, -1)
    np.testing.assert_allclose(
        flat.mean(axis=0), posterior.weights.ravel(), atol=4 * np.sqrt(sigma.diagonal().max() / 40000)
    )
    np.testing.assert_allclose(np.cov(flat, rowvar=False), sigma, atol=0.05 * sigma.diagonal().max())
    drawn_logits = np.einsum("w,skw->sk", laplace.augment(z[:1])[0], draws)
    np.testing.assert_allclose(
        np.cov(drawn_logits, rowvar=False), covariances[0], atol=0.05 * covariances[0].diagonal().max()
    )
    # the mc link is deterministic per seed, and another seed moves it
    once, again = (laplace.predictive(posterior, z, "mc", samples=50, seed=s) for s in (1, 1))
    np.testing.assert_array_equal(once, again)
    assert not np.array_equal(once, laplace.predictive(posterior, z, "mc", samples=50, seed=2))
    with pytest.raises(ValueError, match="link should be one of"):
        laplace.predictive(posterior, z, "logit")


def test_a_shift_shared_by_every_logit_moves_only_the_per_logit_probit():
    """Adding one vector v to every class's weights adds v^T z̃ to all logits alike: the softmax cannot see
    it. In the posterior's draws that is extra variance s² 11^T on each image's logit covariance."""
    rng = np.random.default_rng(5)
    logits = rng.normal(0, 3, (50, 6))
    roots = rng.normal(size=(50, 6, 6))
    covariances = roots @ roots.transpose(0, 2, 1)
    shared = rng.uniform(1, 20, 50)[:, None, None] * np.ones((1, 6, 6))  # Var(v^T z̃) per image, on all logits
    for name in ("centred_probit", "pairwise_probit"):
        link = getattr(laplace, name)
        np.testing.assert_allclose(link(logits, covariances + shared), link(logits, covariances), rtol=1e-12)
    mc = [
        laplace.monte_carlo(logits, c, 64, np.random.default_rng(3))[0]
        for c in (covariances, covariances + shared)
    ]
    np.testing.assert_allclose(mc[0], mc[1], rtol=1e-9)  # the same draws: the shared part centres away
    plain, shifted = laplace.probit(logits, covariances), laplace.probit(logits, covariances + shared)
    assert np.abs(plain - shifted).max() > 0.05
    assert (shifted.max(axis=1) < plain.max(axis=1)).all()  # the invisible variance flattens every prediction
    # and in the weights themselves: a common vector on every class's draw leaves each draw's softmax alone
    z = laplace.augment(rng.normal(size=(4, 3)))
    theta = rng.normal(size=(6, 4))
    common = theta + rng.normal(size=(1, 4))
    np.testing.assert_allclose(
        scipy.special.softmax(z @ common.T, axis=1), scipy.special.softmax(z @ theta.T, axis=1), rtol=1e-12
    )


def test_with_two_classes_the_links_meet_the_one_dimensional_integral():
    """Two classes: the predictive is E[σ(d)] over the one logit difference d ~ N(μ, s²), an integral
    Gauss-Hermite quadrature computes to 1e-12. The mc link converges to it (within 4 of its standard
    errors, at two draw counts); the pairwise link is MacKay's probit of d, σ(μ / sqrt(1 + π s²/8)),
    exactly, within the probit approximation's error of the integral (below 0.02); the centred link
    reads each centred logit's variance s²/4, so its probit is σ(μ / sqrt(1 + π s²/32)), too sharp."""
    rng = np.random.default_rng(11)
    logits = rng.normal(0, 2, (40, 2))
    roots = rng.normal(0, 1.5, (40, 2, 2))
    covariances = roots @ roots.transpose(0, 2, 1)
    mu = logits[:, 0] - logits[:, 1]
    s2 = covariances[:, 0, 0] + covariances[:, 1, 1] - 2 * covariances[:, 0, 1]
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)  # ∫ g(x) N(x; 0, 1) dx ≈ Σ w g(x) / sqrt(2π)
    exact = (scipy.special.expit(mu[:, None] + np.sqrt(s2)[:, None] * nodes) * weights).sum(1) / np.sqrt(
        2 * np.pi
    )
    for samples in (1000, 16000):
        mean, variance = laplace.monte_carlo(logits, covariances, samples, np.random.default_rng(samples))
        error = np.abs(mean[:, 0] - exact)
        assert (error <= 4 * np.sqrt(variance[:, 0] / samples) + 1e-12).all(), samples
    mackay = scipy.special.expit(mu / np.sqrt(1 + np.pi * s2 / 8))
    np.testing.assert_allclose(laplace.pairwise_probit(logits, covariances)[:, 0], mackay, rtol=1e-12)
    assert np.abs(mackay - exact).max() < 0.02
    centred = scipy.special.expit(mu / np.sqrt(1 + np.pi * s2 / 32))
    np.testing.assert_allclose(laplace.centred_probit(logits, covariances)[:, 0], centred, rtol=1e-12)


def test_the_identifiable_prior_is_the_isotropic_posterior_without_its_invisible_part():
    z, y, kernel, bias = _logistic_problem(d=3, k=4)
    isotropic, evidence = laplace.fit(z, y, kernel, bias)
    identifiable, sub = laplace.fit(z, y, kernel, bias, prior="identifiable")
    width = z.shape[1] + 1
    # H is zero on the D + 1 shared directions: the subspace holds exactly its other eigenvalues
    assert len(sub["eigenvalues"]) == len(evidence["eigenvalues"]) - width
    assert (evidence["eigenvalues"][:width] < 1e-8 * evidence["eigenvalues"].max()).all()
    np.testing.assert_allclose(
        np.sort(sub["eigenvalues"]), evidence["eigenvalues"][width:], rtol=1e-8, atol=1e-8
    )
    # at one λ, its logit covariance is the isotropic one's centred: C Σ_f C
    same = laplace.Posterior(identifiable.weights, identifiable.eigenvalues, identifiable.eigenvectors,
                             isotropic.prior_precision)  # fmt: skip
    np.testing.assert_allclose(
        same.logit_covariances(z), laplace.centred(isotropic.logit_covariances(z)), rtol=1e-8, atol=1e-12
    )
    np.testing.assert_allclose(same.probit(z), laplace.predictive(isotropic, z, "centred"), rtol=1e-10)
    # a part all classes' weights share (the softmax cannot see it) moves the isotropic evidence's λ, not
    # the identifiable one's: here the trained weights had none, so add one
    assert sub["map_norm_sq"] == pytest.approx(evidence["map_norm_sq"], rel=1e-6)
    rng = np.random.default_rng(4)
    shared_kernel, shared_bias = kernel + rng.normal(0, 2, (3, 1)), bias + 1.5
    moved = laplace.fit(z, y, shared_kernel, shared_bias)[1]["prior_precision_by_prior"]
    assert moved["isotropic"] < 0.5 * isotropic.prior_precision
    assert moved["identifiable"] == pytest.approx(identifiable.prior_precision, rel=1e-6)
    # Each fit decomposes its own prior's matrix fully and the other's for eigenvalues only (eigvalsh):
    # the λ each evidence picks agrees to the search's tolerance, and exactly for the fitted prior.
    for prior, found in evidence["prior_precision_by_prior"].items():
        assert found == pytest.approx(sub["prior_precision_by_prior"][prior], rel=1e-6)
    assert evidence["prior_precision_by_prior"]["isotropic"] == isotropic.prior_precision
    assert sub["prior_precision_by_prior"]["identifiable"] == identifiable.prior_precision
    with pytest.raises(ValueError, match="prior should be one of"):
        laplace.fit(z, y, kernel, bias, prior="flat")


def test_the_links_of_one_posterior_fit_it_once_and_report_what_each_fit_would():
    z, y, kernel, bias = _logistic_problem(seed=5)
    train = {"features": z, "labels": y, "kernel": kernel, "bias": bias}
    methods = [
        laplace.Method(laplace.Options(link=link, mc_samples=20)) for link in ("probit", "centred", "mc")
    ]
    records = [method.fit(train) for method in methods]
    assert methods[0].posterior is methods[1].posterior is methods[2].posterior
    alone, _ = laplace.fit(z, y, kernel, bias)
    np.testing.assert_array_equal(methods[0].posterior.eigenvectors, alone.eigenvectors)
    assert records[0]["prior_precision"] == records[2]["prior_precision"] == alone.prior_precision
    # the mc link's diagnosis reads the test set's draws its apply made: the same numbers as anew
    test = {"features": z[:100], "labels": y[:100]}
    applied = methods[2].apply(test)["mean"]
    np.testing.assert_array_equal(applied, laplace.predictive(alone, z[:100], "mc", samples=20, seed=84))
    expected = laplace.monte_carlo_error(alone, z[:100], y[:100], 20, 84)
    assert methods[2].diagnose(test)["mc_test"] == expected
    # each closed-form link's grid through the eigenbasis: the NLL of each λ's own posterior
    pairwise = laplace.Method(laplace.Options(link="pairwise"))
    pairwise.fit(train)
    for method in (methods[0], methods[1], pairwise):
        grid = method.diagnose(test)["grid_test_nll"]
        for lam, nll in zip(method.options.prior_precisions, grid, strict=True):
            probs = laplace.predictive(replace(alone, prior_precision=lam), z[:100], method.options.link)
            assert nll == pytest.approx(-np.log(probs[np.arange(100), y[:100]]).mean(), rel=1e-9)


def test_the_mc_links_error_is_what_repeated_seeds_show():
    """The delta-method standard error of the mc link's NLL against the spread of the NLL over seeds."""
    z, y, kernel, bias = _logistic_problem(n=2000)
    posterior, _ = laplace.fit(z, y, kernel, bias, prior_precision=0.05)  # a wide posterior: a visible error
    runs = [laplace.monte_carlo_error(posterior, z, y, 20, seed) for seed in range(40)]
    spread = np.std([r["nll"] for r in runs], ddof=1)
    stated = np.mean([r["nll_standard_error"] for r in runs])
    assert 0.7 < stated / spread < 1.4, (stated, spread)
    many = laplace.monte_carlo_error(posterior, z, y, 4000, 0)["nll"]
    bias = np.mean([r["nll"] for r in runs]) - many
    assert bias > 0 and abs(
        bias - np.mean([r["nll_bias"] for r in runs])
    ) < 0.5 * bias + 3 * spread / np.sqrt(40)


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
    from uncertainty.methods.posthoc import PosthocMethod, method, module
    from uncertainty.methods.predictors import KINDS

    named = [kind.posthoc for kind in KINDS.values() if kind.posthoc]
    assert named == [
        "uncertainty.methods.feature_density", "uncertainty.methods.knn", "uncertainty.methods.vim", "uncertainty.methods.rmds", "uncertainty.methods.laplace"
    ]  # fmt: skip
    for path in named:
        assert isinstance(method(path, {}), PosthocMethod), path
        assert module(path).Options.model_config.get("extra") == "forbid", path
    with pytest.raises(ValueError, match="uncertainty.evaluation.metrics: a post-hoc method module needs"):
        module("uncertainty.evaluation.metrics")


def test_the_laplace_description_reads_the_methods_own_defaults() -> None:
    from uncertainty.methods.laplace import Options
    from uncertainty.methods.predictors import LAPLACE_DEFAULTS, LAPLACE_LINKS

    assert {key: getattr(Options(), key) for key in LAPLACE_DEFAULTS} == LAPLACE_DEFAULTS
    assert (
        set(LAPLACE_LINKS)
        == set(laplace.LINKS)
        == set(typing.get_args(Options.model_fields["link"].annotation))
    )
