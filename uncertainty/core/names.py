"""How a number from params.yaml becomes part of a metric's name: one function, so the stage that
writes a key and the report that reads it spell it alike (apart from uncertainty.core.io, which training
imports: renaming a metric never retrains)."""

from __future__ import annotations


def format_number(number: float) -> str:
    """15.0 -> "15", 2.5 -> "2.5"."""
    return str(int(number)) if float(number).is_integer() else str(number)
