"""params.yaml `prepare`: article 1.3, Fashion-MNIST into one array file."""

from __future__ import annotations

from uncertainty.schema.base import CountOrAll, Section


class Prepare(Section):
    source_dir: str
    train_limit: CountOrAll
    test_limit: CountOrAll
