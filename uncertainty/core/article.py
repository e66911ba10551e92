"""Which run is the article's: its experiments (the noise image, the MC batch, the regressors) and its
claims belong to it alone; on any other run they are skipped, with the reason said once.

The article's run is Fashion-MNIST with the article's CNN (uncertainty/models/cnn.py:build_cnn) trained here
as a plain CNN named `plain` and a dropout CNN named `dropout`. Other data, another architecture, or a
model trained elsewhere is the user's run: the report speaks of their data and models instead.
"""

from __future__ import annotations

from typing import Any

SOURCE = "fashion_mnist"
BUILDER = ("uncertainty/models/cnn.py", "build_cnn")
PLAIN, DROPOUT = "plain", "dropout"


def not_the_article(source: str, train: Any) -> str | None:
    """Why this is not the article's run (one phrase), or None where it is. `train`: params.train."""
    if source != SOURCE:
        return f"the data is not the article's Fashion-MNIST (prepare.source {source})"
    if (train.builder.file, train.builder.function) != BUILDER:
        return f"the architecture is not the article's CNN ({train.builder.file}:{train.builder.function})"
    models = train.models
    for name, stochastic in ((PLAIN, False), (DROPOUT, True)):
        spec = models.get(name)
        if spec is None or spec.file or (spec.dropout_rate > 0) != stochastic:
            kind = "dropout" if stochastic else "plain"
            return f"train.models has no {kind} CNN named {name!r} trained by the article's recipe"
    return None
