"""The data layer: the data sources (sources/, their contract in contract.py), the dataset
description every stage reads, the image helpers, the OOD inputs and the corruptions.

May import uncertainty.core only.
"""
