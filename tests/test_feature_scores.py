"""The feature-space OOD scores (KNN, ViM, relative Mahalanobis) against OpenOOD's formulas written out
with scikit-learn, on features shaped like a CNN's (clustered by class, a last layer fitted on them)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
from sklearn.covariance import EmpiricalCovariance
from sklearn.neighbors import NearestNeighbors

from uncertainty.methods import knn, rmds, vim


def _features(n: int = 600, d: int = 12, k: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    """Training arrays as the infer stage writes them: class clusters with unequal spreads, a last layer."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    centres = rng.normal(size=(k, d)) * 3
    z = (centres[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d)).astype(np.float32)
    kernel = rng.normal(size=(d, k)).astype(np.float32)
    bias = rng.normal(size=k).astype(np.float32)
    return {"features": z, "labels": labels, "kernel": kernel, "bias": bias, "logits": z @ kernel + bias}


def _queries(d: int = 12, seed: int = 1) -> dict[str, np.ndarray]:
    return {"features": (np.random.default_rng(seed).normal(size=(150, d)) * 4).astype(np.float32)}


@pytest.mark.parametrize("k", [1, 5, 12])  # the argmax passes (k <= 8) and the partition
def test_knn_is_scikit_learns_kth_neighbour_distance_of_normalized_features(k: int) -> None:
    train, test = _features(), _queries()
    method = knn.Method(knn.Options(k=k))
    method.fit(train)
    found = method.apply(test)["knn"]

    def normalized(x: np.ndarray) -> np.ndarray:  # OpenOOD's normalizer
        return x / (np.linalg.norm(x, ord=2, axis=-1, keepdims=True) + 1e-10)

    searcher = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(
        normalized(train["features"].astype(np.float64))
    )
    expected = searcher.kneighbors(normalized(test["features"].astype(np.float64)))[0][:, -1]
    np.testing.assert_allclose(found, expected, atol=2e-6)  # float32 similarities: ~1e-7 relative


def test_knn_searches_a_seeded_sample_of_the_training_features() -> None:
    train = _features()
    sampled = knn.Method(knn.Options(k=2, train_images=100, seed=3))
    assert sampled.fit(train) == {"k": 2, "train_images": 100}
    again = knn.Method(knn.Options(k=2, train_images=100, seed=3))
    again.fit(train)
    test = _queries()
    np.testing.assert_array_equal(sampled.apply(test)["knn"], again.apply(test)["knn"])
    whole = knn.Method(knn.Options(k=2))
    whole.fit(train)
    assert np.all(whole.apply(test)["knn"] <= sampled.apply(test)["knn"])  # more neighbours: never farther
    with pytest.raises(ValueError, match="k = 101 exceeds the 100 training features"):
        knn.Method(knn.Options(k=101, train_images=100)).fit(train)


def test_vim_is_openoods_formula() -> None:
    train, test = _features(d=12), _queries(d=12)
    method = vim.Method(vim.Options(dim=5))
    record = method.fit(train)
    found = method.apply(test)["vim"]
    # OpenOOD's VIMPostprocessor (w: (K, D), torch's layout), written out; its score is the negation of ours
    w, b = train["kernel"].T.astype(np.float64), train["bias"].astype(np.float64)
    feature_id_train = train["features"].astype(np.float64)
    u = -np.matmul(np.linalg.pinv(w), b)
    ec = EmpiricalCovariance(assume_centered=True)
    ec.fit(feature_id_train - u)
    eig_vals, eigen_vectors = np.linalg.eig(ec.covariance_)
    ns = np.ascontiguousarray((eigen_vectors.T[np.argsort(eig_vals * -1)[5:]]).T)
    vlogit_id_train = np.linalg.norm(np.matmul(feature_id_train - u, ns), axis=-1)
    alpha = (feature_id_train @ w.T + b).max(axis=-1).mean() / vlogit_id_train.mean()
    feature_ood = test["features"].astype(np.float64)
    energy_ood = scipy.special.logsumexp(feature_ood @ w.T + b, axis=-1)
    score_ood = -np.linalg.norm(np.matmul(feature_ood - u, ns), axis=-1) * alpha + energy_ood
    assert record["alpha"] == pytest.approx(alpha, rel=1e-9)
    np.testing.assert_allclose(found, -score_ood, rtol=1e-9, atol=1e-9)


def test_vims_subspace_follows_the_papers_rule() -> None:
    assert [vim.paper_dim(n) for n in (128, 767, 768, 2047, 2048)] == [64, 383, 512, 512, 1000]
    with pytest.raises(ValueError, match="dim should be below the 12 features"):
        vim.Method(vim.Options(dim=12)).fit(_features(d=12))


def test_relative_mahalanobis_is_openoods_formula() -> None:
    train, test = _features(), _queries()
    method = rmds.Method(rmds.Options())
    method.fit(train)
    found = method.apply(test)["rmds"]
    # OpenOOD's RMDSPostprocessor, written out: shared class covariance, one background Gaussian
    x, y = train["features"].astype(np.float64), train["labels"]
    class_mean = np.stack([x[y == c].mean(axis=0) for c in range(4)])
    precision = EmpiricalCovariance(assume_centered=False).fit(x - class_mean[y]).precision_
    whole_mean = x.mean(axis=0)
    whole_precision = EmpiricalCovariance(assume_centered=False).fit(x - whole_mean).precision_
    z = test["features"].astype(np.float64)
    tensor1 = z - whole_mean
    background_scores = -np.diag(tensor1 @ whole_precision @ tensor1.T)
    class_scores = np.stack(
        [-np.diag((z - class_mean[c]) @ precision @ (z - class_mean[c]).T) for c in range(4)], axis=1
    )
    conf = (class_scores - background_scores[:, None]).max(axis=1)
    np.testing.assert_allclose(found, -conf, rtol=1e-8, atol=1e-8)


def test_rmds_with_a_constant_feature_is_openoods_pseudo_inverse() -> None:
    """A dead unit (a feature constant over the training images) makes the covariances singular: scikit-learn's
    precision is then the pseudo-inverse, and so is ours."""
    train, test = _features(), _queries()
    train["features"][:, 3] = 1.0
    method = rmds.Method(rmds.Options())
    assert method.fit(train)["rank"] == 11
    found = method.apply(test)["rmds"]
    x, y = train["features"].astype(np.float64), train["labels"]
    class_mean = np.stack([x[y == c].mean(axis=0) for c in range(4)])
    precision = EmpiricalCovariance(assume_centered=False).fit(x - class_mean[y]).precision_
    whole_mean = x.mean(axis=0)
    whole_precision = EmpiricalCovariance(assume_centered=False).fit(x - whole_mean).precision_
    z = test["features"].astype(np.float64)
    background = np.einsum("nd,de,ne->n", z - whole_mean, whole_precision, z - whole_mean)
    classes = np.stack(
        [np.einsum("nd,de,ne->n", z - class_mean[c], precision, z - class_mean[c]) for c in range(4)], axis=1
    )
    np.testing.assert_allclose(found, (classes - background[:, None]).min(axis=1), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("module", [knn, vim, rmds])
def test_each_score_ranks_far_images_above_the_training_clusters(module) -> None:
    train = _features()
    method = module.Method(module.Options())
    method.fit(train)
    score = module.__name__.rsplit(".", 1)[1]
    near = method.apply({"features": train["features"][:100]})[score]
    far = method.apply({"features": train["features"][:100] * 0 + 40.0})[score]
    assert far.min() > np.median(near)
