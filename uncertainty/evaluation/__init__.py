"""The evaluation layer: metrics and their registry, curves, the statistics of an interval over
seeds and images, conformal coverage, the verdicts, the article's claims and the models' health.

May import every layer below it (core, data, models, methods), never uncertainty.report.
"""
