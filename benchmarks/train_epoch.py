"""One timed training epoch of the article's CNN in a fresh process, for `make bench`.

    python -m benchmarks.train_epoch --images 60000 --threads 2 --steps-per-execution 1

Prints one JSON line: {"samples_per_second": ..., ...}. Thread counts must be set
before TensorFlow starts, so every way of training that `make bench` compares
runs in its own process, with the same data, seed, batch and warm-up.

--input autotuned is the train stage's input pipeline before the training-speed work (tf.data's
own thread pool and autotuner); "pipeline", the default, is today's
(`uncertainty.models.training.make_dataset`: one thread, fixed depth, the same batches).

--batch-shards K computes each batch as K slices of one CNN, the cores split among
them (`uncertainty.models.training.BatchShards`, the train stage's `train.batch_shards`).

--activation keras trains the CNN with Keras' own swish (TensorFlow's gradient, as the
train stage did before `uncertainty.models.cnn.swish`); --activation none drops the activations
altogether: not the article's CNN, but a bound on what any cheaper activation gradient
could still gain.

--towers K trains K CNNs in one graph (a functional model of K independent
towers, each with its own inputs, shuffled from its own seed, and its own loss):
the executor can run one tower's ops while another's wait, with each op on one
thread. Its samples/s counts every tower's images.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # importing does not start it: the thread counts can still be set in main()


def autotuned_dataset(images, labels, batch_size: int, seed: int) -> tf.data.Dataset:
    """The train stage's input pipeline before the training-speed work: tf.data's thread pool and autotuner.

    Kept as the bench's baseline; tests/test_training.py checks today's `make_dataset`
    gives the same batches.
    """
    images_t, labels_t = tf.constant(images), tf.constant(labels)
    return (
        tf.data.Dataset.range(len(images))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(lambda i: (tf.gather(images_t, i), tf.gather(labels_t, i)), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, required=True, help="training images in the timed epoch")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: TensorFlow's default)")
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--input", choices=("pipeline", "autotuned", "arrays"), default="pipeline")
    parser.add_argument("--jit-compile", action="store_true")
    parser.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default="float32")
    parser.add_argument("--towers", type=int, default=1)
    parser.add_argument("--activation", choices=("ours", "keras", "none"), default="ours")
    parser.add_argument("--batch-shards", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=84)
    args = parser.parse_args()

    import keras

    from uncertainty.models.runtime import seed_everything, set_threads_for_shards

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(2, args.towers, args.batch_shards))
    else:
        set_threads_for_shards(args.batch_shards)  # as the train stage does
    keras.mixed_precision.set_global_policy(args.precision)

    from uncertainty.data.images import one_hot, to_model_input
    from uncertainty.models.cnn import build_cnn, swish

    IMAGE_SHAPE = (28, 28, 1)  # Fashion-MNIST, the data this benchmark measures
    from uncertainty.core.io import load_npz
    from uncertainty.models.training import BatchShards, make_dataset

    data = load_npz("data/dataset.npz", keys=("x_train", "y_train"))
    x, y = to_model_input(data["x_train"][: args.images]), one_hot(data["y_train"][: args.images], 10)

    seed_everything(args.seed)
    activation = {"ours": swish, "keras": "swish", "none": None}[args.activation]
    towers = [build_cnn(dropout_rate=0.0, activation=activation) for _ in range(args.towers)]
    if args.towers == 1:
        model = towers[0]
        if args.batch_shards > 1:
            model = keras.Sequential([keras.Input(IMAGE_SHAPE), BatchShards(model, args.batch_shards)])
    else:
        inputs = [keras.Input((28, 28, 1)) for _ in towers]
        model = keras.Model(inputs, [tower(i) for tower, i in zip(towers, inputs, strict=True)])
    model.compile(
        optimizer=keras.optimizers.Adam(0.001),
        loss=["categorical_crossentropy"] * args.towers if args.towers > 1 else "categorical_crossentropy",
        steps_per_execution=args.steps_per_execution,
        jit_compile=args.jit_compile,
    )

    def fit_input(images, labels) -> dict:
        if args.towers > 1:
            # Every tower its own order (seed + k): ((x1, y1), (x2, y2)) -> ((x1, x2), (y1, y2)).
            orders = [
                make_dataset(images, labels, args.batch_size, seed=args.seed + k) for k in range(args.towers)
            ]
            return {
                "x": tf.data.Dataset.zip(tuple(orders)).map(lambda *pairs: tuple(zip(*pairs, strict=True)))
            }
        if args.input == "arrays":
            return {"x": images, "y": labels, "batch_size": args.batch_size, "shuffle": True}
        if args.input == "autotuned":
            return {"x": autotuned_dataset(images, labels, args.batch_size, args.seed), "shuffle": False}
        return {"x": make_dataset(images, labels, args.batch_size, seed=args.seed), "shuffle": False}

    warm = min(len(x), 20 * args.batch_size)
    model.fit(**fit_input(x[:warm], y[:warm]), epochs=1, verbose=0)  # compile outside the timing
    seconds = []
    for _ in range(2):  # the faster of two epochs: the least disturbed by other load
        start = time.perf_counter()
        model.fit(**fit_input(x, y), epochs=1, verbose=0)
        seconds.append(time.perf_counter() - start)
    best = min(seconds)
    print(
        json.dumps(
            {
                "samples_per_second": args.towers * len(x) / best,
                "epoch_seconds": best,
                "images": len(x),
                "towers": args.towers,
                "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
