"""params.yaml `mc_engine`: how stochastic passes are computed."""

from __future__ import annotations

from uncertainty.core.schema.base import PositiveInt, Section, Strategy


class McEngine(Section):
    chunk_passes: PositiveInt
    batch_size: PositiveInt
    jit_compile: bool
    strategy: Strategy
