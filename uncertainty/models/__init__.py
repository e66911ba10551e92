"""The models layer: the classifier contract, the article's CNN, training, the toy regressors, the MC
dropout engine and the per-image summaries of several passes (what inference writes).

May import uncertainty.core and uncertainty.data. The only layer that imports TensorFlow/Keras.
"""
