"""Keras on TensorFlow against Keras on JAX on this machine, side by side in one run: `make bench`.

    python -m benchmarks.backends [--rounds 2] [--images 60000] [--quick]

Three measurements, each in a fresh process with KERAS_BACKEND set (a backend is chosen when Keras is
first imported), the two backends interleaved over rounds (the order reversed every other round), each
keeping its best round, so a slow spell of the machine does not land on one backend only:

1. epoch: a training epoch of the article's CNN on the train stage's params (batch 128,
   train.steps_per_execution, train.batch_shards, its threads), after one warm-up epoch that
   compiles; samples/s of the second epoch.
2. mc: MC dropout over the test set at T = infer.mc_passes on the committed dropout CNN, after a
   warm-up call on one batch that compiles (a last, smaller batch still compiles in the timed call
   on JAX, as it would in the stage); seconds.
3. infer: the infer stage itself for the dropout CNN (`python -m stages.infer dropout ...` into a
   temporary folder, the workspace's data): wall seconds of the whole process, start-up and
   compilation included, as `make report` pays them.

Writes reports/benchmarks_backends.json: the machine, both backends' versions, every round, the
best of each, and each ratio JAX / TensorFlow (above 1: JAX faster). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "reports" / "benchmarks_backends.json"
BACKENDS = ("tensorflow", "jax")


def worker_epoch(images: int) -> dict[str, Any]:
    import keras
    import numpy as np
    import yaml

    from uncertainty.core.io import load_npz
    from uncertainty.data.images import one_hot, to_model_input
    from uncertainty.models.cnn import build_cnn, compile_cnn
    from uncertainty.models.runtime import seed_everything, set_threads_for_shards
    from uncertainty.models.training import BatchShards, make_dataset

    train = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]
    threads = set_threads_for_shards(train["batch_shards"])
    data = load_npz(ROOT / "data" / "dataset.npz", keys=("x_train", "y_train"))
    x, y = to_model_input(data["x_train"][:images], (28, 28, 1)), one_hot(data["y_train"][:images], 10)
    seed_everything(84)
    cnn = build_cnn(dropout_rate=0.0)
    model = (
        cnn
        if train["batch_shards"] == 1
        else keras.Sequential([keras.Input((28, 28, 1)), BatchShards(cnn, train["batch_shards"])])
    )
    compile_cnn(model, 0.001, train["steps_per_execution"])
    seconds: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            seconds.append(time.perf_counter() - self.started)

    model.fit(make_dataset(x, y, 128, seed=84), epochs=2, verbose=0, shuffle=False, callbacks=[Timer()])
    return {
        "first_epoch_seconds": seconds[0],
        "epoch_seconds": seconds[1],
        "samples_per_second": len(x) / seconds[1],
        "threads": threads,
        "images": len(x),
        "final_loss": float(np.asarray(model.evaluate(x[:1000], y[:1000], verbose=0)[0])),
    }


def worker_mc(passes: int) -> dict[str, Any]:
    from uncertainty.core.io import load_npz
    from uncertainty.data.images import to_model_input
    from uncertainty.models.cnn import architecture, load_cnn
    from uncertainty.models.mc import MCDropout

    x = to_model_input(load_npz(ROOT / "data" / "dataset.npz", keys=("x_test",))["x_test"], (28, 28, 1))
    model, _ = load_cnn(
        ROOT / "models" / "dropout.npz",
        architecture("uncertainty/models/cnn.py", "build_cnn", (28, 28, 1), 10),
    )
    engine = MCDropout(model, 84)
    started = time.perf_counter()
    engine.sample(x[: engine.batch_size], engine.chunk_passes)  # compiles the full batch and chunk shapes
    warm = time.perf_counter() - started
    started = time.perf_counter()
    out = engine.sample(x, passes)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "warm_up_seconds": warm,
        "passes": passes,
        "images": len(x),
        "passes_per_second": passes * len(x) / seconds,
        "mean_top_probability": float(out.mean(axis=0).max(axis=1).mean()),
    }


def run_worker(backend: str, kind: str, argument: int) -> dict[str, Any]:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    if kind == "infer":
        with tempfile.TemporaryDirectory() as directory:
            command = [
                sys.executable,
                "-m",
                "stages.infer",
                "dropout",
                "--data",
                "data/dataset.npz",
                "--ood",
                "data/ood.npz",
                "--info",
                "data/dataset.json",
                "--corrupted",
                "data/corrupted.npz",
                "--model",
                "models/dropout.npz",
                "--output",
                f"{directory}/dropout",
                "--machine",
                f"{directory}/machine.json",
            ]
            started = time.perf_counter()
            result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if result.returncode != 0:
                raise SystemExit(f"infer on {backend} failed:\n{result.stderr[-2000:]}")
            return {"seconds": seconds, "machine": json.loads(Path(f"{directory}/machine.json").read_text())}
    command = [sys.executable, "-m", "benchmarks.backends", "--worker", kind, "--argument", str(argument)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{kind} on {backend} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--images", type=int, default=60_000, help="training images in the timed epoch")
    parser.add_argument("--passes", type=int, default=0, help="MC passes (0: params.yaml infer.mc_passes)")
    parser.add_argument(
        "--only", nargs="*", choices=("epoch", "mc", "infer"), default=["epoch", "mc", "infer"]
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--worker", choices=("epoch", "mc"), help=argparse.SUPPRESS)
    parser.add_argument("--argument", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_epoch(args.argument) if args.worker == "epoch" else worker_mc(args.argument)))
        return

    import yaml

    from uncertainty.core.io import write_json
    from uncertainty.core.machine import backend_version, machine_info

    passes = args.passes or yaml.safe_load((ROOT / "params.yaml").read_text())["infer"]["mc_passes"]
    arguments = {"epoch": args.images, "mc": passes, "infer": 0}
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {
        kind: {b: [] for b in BACKENDS} for kind in args.only
    }
    for index in range(args.rounds):
        order = BACKENDS if index % 2 == 0 else BACKENDS[::-1]
        for kind in args.only:
            for backend in order:
                record = run_worker(backend, kind, arguments[kind])
                rounds[kind][backend].append(record)
                print(f"round {index + 1} {kind:5s} {backend:10s} {json.dumps(record)[:160]}", flush=True)

    def best(kind: str, backend: str) -> float:
        key = "epoch_seconds" if kind == "epoch" else "seconds"
        return min(record[key] for record in rounds[kind][backend])

    summary = {
        kind: {
            "tensorflow_seconds": best(kind, "tensorflow"),
            "jax_seconds": best(kind, "jax"),
            "jax_speedup": best(kind, "tensorflow") / best(kind, "jax"),
        }
        for kind in args.only
    }
    record = {
        "machine": {key: value for key, value in machine_info().items() if key != "keras_backend"},
        "backends": {backend: backend_version(backend) for backend in BACKENDS},
        "rounds": args.rounds,
        "epoch_images": args.images,
        "mc_passes": passes,
        "summary": summary,
        "per_round": rounds,
    }
    write_json(args.output, record)
    print(
        f"\nTensorFlow {record['backends']['tensorflow']} against JAX {record['backends']['jax']} "
        f"({record['machine']['cpu_model']}, {record['machine']['threads']} threads) -> {args.output}"
    )
    for kind, row in summary.items():
        print(
            f"  {kind:5s}  TensorFlow {row['tensorflow_seconds']:8.2f} s   JAX {row['jax_seconds']:8.2f} s   "
            f"JAX speedup {row['jax_speedup']:.2f}x"
        )


if __name__ == "__main__":
    main()
