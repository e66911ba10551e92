"""Virtual-logit matching (ViM): the features' residual off their principal subspace, matched to the energy.

Wang et al. ("ViM: Out-Of-Distribution with Virtual-logit Matching", CVPR 2022). The features are
taken from the origin o = −W⁺ b, where the last layer's logits W z + b vanish; the principal subspace P
is spanned by the top D' eigenvectors of the training features' uncentred second moment about o. An
in-distribution image's features lie near P; the residual x^{P⊥} = (z − o) projected on the rest is
what the logits cannot see. Its norm becomes a virtual logit, scaled by α = mean max logit / mean
residual norm over the training images so the two are comparable, and the score (OpenOOD's
`VIMPostprocessor`, sign flipped to higher = more uncertain) is

    vim(z) = α ||x^{P⊥}|| − logsumexp(W z + b).

D' (`dim`): the paper's rule by feature width N: 1000 for N ≥ 2048, 512 for 768 ≤ N < 2048, N / 2 below
(64 for the article CNN's 128 features). Classification stays the CNN's softmax.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.special
from pydantic import BaseModel, ConfigDict, Field


def paper_dim(width: int) -> int:
    """The paper's principal-subspace dimension D' for features of this width."""
    return 1000 if width >= 2048 else 512 if width >= 768 else width // 2


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dim: int | None = Field(
        None,
        ge=1,
        description="the principal subspace's dimension D' (None: the paper's rule, half of < 768 features)",
    )


class Method:
    """The post-hoc stage's interface: the origin, the residual space and α from the training images."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.fitted: tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray] | None = None

    def fit(self, train: Mapping[str, np.ndarray]) -> dict[str, Any]:
        z = np.asarray(train["features"], dtype=np.float64)
        kernel, bias = (
            np.asarray(train["kernel"], np.float64),
            np.asarray(train["bias"], np.float64),
        )  # (D, K), (K,)
        dim = self.options.dim or paper_dim(z.shape[1])
        if dim >= z.shape[1]:
            raise ValueError(f"dim should be below the {z.shape[1]} features, got {dim}")
        origin = -np.linalg.pinv(kernel.T) @ bias  # (D,): W o + b = 0 in the least-squares sense
        centred = z - origin
        _, vectors = np.linalg.eigh(centred.T @ centred / len(z))  # ascending
        residual = vectors[:, : z.shape[1] - dim]  # every direction but the top `dim`
        logits = z @ kernel + bias
        alpha = float(logits.max(axis=1).mean() / np.linalg.norm(centred @ residual, axis=1).mean())
        self.fitted = (origin, residual, alpha, kernel, bias)
        return {"dim": dim, "alpha": alpha}

    def apply(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The score, higher = more uncertain: the virtual logit minus the energy's logsumexp, (N,)."""
        assert self.fitted is not None, "fit first"
        origin, residual, alpha, kernel, bias = self.fitted
        z = np.asarray(arrays["features"], dtype=np.float64)
        virtual = alpha * np.linalg.norm((z - origin) @ residual, axis=1)
        return {"vim": virtual - scipy.special.logsumexp(z @ kernel + bias, axis=1)}

    def diagnose(self, test: Mapping[str, np.ndarray]) -> dict[str, Any]:
        return {}
