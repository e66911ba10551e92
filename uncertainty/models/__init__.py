"""The models layer: the classifier contract, the article's CNN, training, the toy regressors, the MC
dropout engine and the per-image summaries of several passes (what inference writes).

May import uncertainty.core and uncertainty.data. The layer that runs TensorFlow/Keras (elsewhere only
Keras' download of Fashion-MNIST where Debian's files are absent, and the tools that load a user's .keras file).
"""
