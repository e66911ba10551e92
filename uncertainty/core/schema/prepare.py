"""params.yaml `prepare`: which data (uncertainty.data.sources), into one array file (article 1.3)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from uncertainty.core.schema.base import CountOrAll, Real, Section, Seed


class Prepare(Section):
    source: Literal["fashion_mnist", "mnist", "npz"]  # uncertainty.data.sources.SOURCES
    source_dir: str
    file: str
    split_seed: Seed
    test_fraction: Real = Field(gt=0, lt=1)
    train_limit: CountOrAll
    test_limit: CountOrAll
    ood_limit: CountOrAll
