"""On PYTHONPATH, makes Python behave as on a machine without TensorFlow (a JAX-only GPU image):
`import tensorflow` fails as it does there, so Keras' optional uses of it (serialization) step aside
and any of the pipeline's own would fail loudly. tests/test_backends.py runs JAX with it."""

import importlib.abc
import sys


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: object, target: object = None) -> None:
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden: a machine without TensorFlow)")
        return None


sys.meta_path.insert(0, _NoTensorFlow())
