"""The core every layer may import: errors, atomic file IO, params.yaml's schema and loading, the
words of the pipeline (vocabulary), the machine record and which run is the article's.

Imports nothing of the project outside uncertainty.core.
"""
