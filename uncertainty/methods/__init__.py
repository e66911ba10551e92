"""The methods layer: the predictor registry (predictors.py) and every uncertainty method it builds on:
temperature and the calibrators, the feature-space OOD scores, last-layer Laplace, conformal scores.

May import uncertainty.core, uncertainty.data and uncertainty.models; numpy, scipy and
scikit-learn, no TensorFlow.
"""
