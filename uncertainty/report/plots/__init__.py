"""The figures, one module per family (common.py: the style and helpers every family shares).

matplotlib is imported by these modules and nowhere else in the library (import-linter checks)."""
