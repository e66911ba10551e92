"""Speed benchmarks, side by side in one run: `make bench` (python -m benchmarks.bench).

Writes reports/benchmarks.json and prints a table. Ratios are measured within
this one run, so they hold on a noisy machine; the absolute figures depend on
it. Nothing here is a test: no figure is asserted.

1. MC passes/s on one 128-image batch, T passes: the article's loop
   (`model(x, training=True)` T times, eager) against the engine (uncertainty.mc).
2. The engine's achieved GFLOP/s against a float32 matrix product's GFLOP/s.
3. The whole test set at T = 100 (one million passes): seconds and peak memory,
   in a fresh process (what the predict stage pays).
4. Training: samples/s for one epoch of the plain CNN, the pipeline's tf.data
   input against plain `model.fit` on in-memory arrays.
5. The three regressors: the compiled loop against `model.fit`, 1000 epochs each.
6. `dvc repro` when nothing changed: seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from uncertainty.cnn import build_cnn, compile_cnn
from uncertainty.fashion_mnist import one_hot, to_model_input
from uncertainty.io import load_npz, write_json
from uncertainty.machine import describe, machine_info
from uncertainty.mc import MCDropout
from uncertainty.regressors import build_regressor, linear_data, train_regressors
from uncertainty.runtime import seed_everything
from uncertainty.training import make_dataset

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "reports/benchmarks.json"


def best_of(repeats: int, run: Callable[[], Any]) -> float:
    """Fastest of `repeats` timed calls (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def cnn_flops(model: keras.Sequential) -> tuple[int, int]:
    """Multiply-add FLOPs (2 per MAC) of one forward pass: (total, before the first Dropout)."""
    total, prefix, seen_dropout = 0, 0, False
    for layer in model.layers:
        flops = 0
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in, _ = layer.kernel.shape
            flops = 2 * h * w * c_out * kh * kw * c_in
        elif isinstance(layer, keras.layers.Dense):
            c_in, c_out = layer.kernel.shape
            flops = 2 * c_in * c_out
        elif isinstance(layer, keras.layers.Dropout):
            seen_dropout = True
        total += flops
        prefix += 0 if seen_dropout else flops
    return total, prefix


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    a = tf.random.uniform((size, size), dtype=tf.float32)
    b = tf.random.uniform((size, size), dtype=tf.float32)
    product = tf.function(lambda: tf.matmul(a, b))
    product().numpy()
    seconds = best_of(repeats, lambda: product().numpy())
    return 2 * size**3 / seconds / 1e9


def article_loop(model: keras.Model, images: np.ndarray, passes: int) -> np.ndarray:
    """The article's way: one eager `model(x, training=True)` call per pass."""
    return np.array([model(images, training=True).numpy() for _ in range(passes)])


def bench_mc(model: keras.Model, images: np.ndarray, passes: int, engine: dict[str, Any]) -> dict[str, Any]:
    article_loop(model, images, 3)  # warm-up
    loop_passes = min(passes, 200)  # the loop is slow and linear in T: 200 passes time it well
    loop_seconds = best_of(2, lambda: article_loop(model, images, loop_passes))
    sampler = MCDropout(model, 84, **engine)
    sampler.sample(images, engine["chunk_passes"])  # compile
    engine_seconds = best_of(3, lambda: sampler.sample(images, passes))
    loop_rate = loop_passes * len(images) / loop_seconds
    engine_rate = passes * len(images) / engine_seconds
    return {
        "batch": len(images),
        "passes": passes,
        "article_loop_passes_per_second": loop_rate,
        "article_loop_passes_timed": loop_passes,
        "engine_passes_per_second": engine_rate,
        "engine_seconds": engine_seconds,
    }


def bench_test_set(passes: int, engine: dict[str, Any]) -> dict[str, Any]:
    """Whole test set at T passes in a fresh process: seconds (sampling only) and peak RSS."""
    code = f"""
import os, time, json, resource
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from uncertainty.fashion_mnist import to_model_input
from uncertainty.io import load_npz
from uncertainty.mc import MCDropout
from uncertainty.cnn import build_cnn, load_cnn
images = to_model_input(load_npz("data/fashion_mnist.npz")["x_test"])
model = load_cnn("models/dropout.npz")[0] if os.path.exists("models/dropout.npz") else build_cnn(0.1)
sampler = MCDropout(model, 84, **{engine!r})
sampler.sample(images[:256], {engine["chunk_passes"]})
start = time.perf_counter()
out = sampler.sample(images, {passes})
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "images": len(images), "shape": list(out.shape),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    record = json.loads(result.stdout.strip().splitlines()[-1])
    record["passes"] = passes
    record["passes_per_second"] = passes * record["images"] / record["seconds"]
    return record


def bench_training(x: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, Any]:
    """One epoch of the plain CNN each way (after a short warm-up epoch on a slice)."""

    def epoch_seconds(fit_input: Callable[[np.ndarray, np.ndarray], dict[str, Any]]) -> float:
        """A fresh seeded CNN, a warm-up epoch on a slice, then one timed epoch on everything."""
        seed_everything(84)
        model = build_cnn(0.0)
        compile_cnn(model, 0.001)
        model.fit(**fit_input(x[:1024], y[:1024]), epochs=1, verbose=0)
        start = time.perf_counter()
        model.fit(**fit_input(x, y), epochs=1, verbose=0)
        return time.perf_counter() - start

    timings = {
        "arrays": epoch_seconds(lambda a, b: {"x": a, "y": b, "batch_size": batch_size, "shuffle": True}),
        "pipeline": epoch_seconds(
            lambda a, b: {"x": make_dataset(a, b, batch_size, seed=84), "shuffle": False}
        ),
    }
    return {
        "images": len(x),
        "batch_size": batch_size,
        "model_fit_arrays_samples_per_second": len(x) / timings["arrays"],
        "pipeline_samples_per_second": len(x) / timings["pipeline"],
        "speedup": timings["arrays"] / timings["pipeline"],
    }


def bench_regressors(epochs: int) -> dict[str, Any]:
    x, y = linear_data(20, 2.0, 1.0, 0.5, 1.2, 84)
    seeds = {"ones": 84, "normal": 85, "he_uniform": 86}
    point = np.array([[15.0]], np.float32)

    start = time.perf_counter()
    fitted = {}
    for name, seed in seeds.items():
        model = build_regressor(name, seed)
        model.compile(optimizer=keras.optimizers.Adam(0.001), loss="mse")
        model.fit(x, y, epochs=epochs, verbose=0, shuffle=False)
        fitted[name] = float(model(point)[0, 0])
    fit_seconds = time.perf_counter() - start

    start = time.perf_counter()
    models = {name: build_regressor(name, seed) for name, seed in seeds.items()}
    train_regressors(x, y, models, epochs, 0.001)
    loop = {name: float(model(point)[0, 0]) for name, model in models.items()}
    loop_seconds = time.perf_counter() - start
    return {
        "epochs": epochs,
        "model_fit_seconds": fit_seconds,
        "compiled_loop_seconds": loop_seconds,
        "speedup": fit_seconds / loop_seconds,
        "pred_at_15_model_fit": fitted,
        "pred_at_15_compiled_loop": loop,
        "max_abs_difference": max(abs(fitted[n] - loop[n]) for n in seeds),
    }


def bench_dvc_noop() -> dict[str, Any]:
    dvc = Path(sys.executable).with_name("dvc")
    environment = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{dvc.parent}:{os.environ['PATH']}"}
    start = time.perf_counter()
    result = subprocess.run([str(dvc), "repro"], cwd=ROOT, capture_output=True, text=True, env=environment)
    seconds = time.perf_counter() - start
    ran = [line for line in result.stdout.splitlines() if line.startswith("Running stage")]
    return {"seconds": seconds, "returncode": result.returncode, "stages_run": len(ran)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=1000, help="T for the 128-batch comparison")
    parser.add_argument("--test-passes", type=int, default=100, help="T for the whole test set")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()

    import yaml

    engine = yaml.safe_load((ROOT / "params.yaml").read_text())["mc_engine"]
    data = load_npz(ROOT / "data/fashion_mnist.npz", keys=("x_train", "y_train", "x_test"))
    batch = to_model_input(data["x_test"][:128])
    seed_everything(84)
    dropout_model = build_cnn(0.1)
    total_flops, prefix_flops = cnn_flops(dropout_model)

    passes = 100 if args.quick else args.passes
    record: dict[str, Any] = {
        "ran": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            # CPU model, AVX2/AVX-512/BF16/AMX flags and usable threads: speed and rounding depend on them.
            "machine": machine_info(),
            "cores": os.cpu_count(),
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
            "dtype": "float32",
            "engine": engine,
            "quick": args.quick,
        },
        "flops_per_pass": total_flops,
        "flops_per_pass_before_first_dropout": prefix_flops,
    }
    print("MC on one 128-image batch ...", flush=True)
    mc = bench_mc(dropout_model, batch, passes, engine)
    record["mc_batch"] = mc
    record["mc_speedup"] = mc["engine_passes_per_second"] / mc["article_loop_passes_per_second"]

    print("float32 matrix product ...", flush=True)
    peak = matmul_gflops()
    # Work the engine really does: the prefix once per image, the rest once per pass.
    done = mc["batch"] * (prefix_flops + passes * (total_flops - prefix_flops))
    engine_gflops = done / mc["engine_seconds"] / 1e9
    record["roofline"] = {
        "matmul_gflops": peak,
        "engine_gflops": engine_gflops,
        "engine_full_pass_equivalent_gflops": mc["engine_passes_per_second"] * total_flops / 1e9,
        "passes_per_second_at_matmul_rate": peak * 1e9 / total_flops,
    }
    record["roofline_fraction"] = engine_gflops / peak

    print("whole test set ...", flush=True)
    test = bench_test_set(10 if args.quick else args.test_passes, engine)
    record["test_set"] = test
    record["test_set_mc_seconds"] = test["seconds"]

    print("training one epoch ...", flush=True)
    n = 6000 if args.quick else len(data["x_train"])
    record["training"] = bench_training(
        to_model_input(data["x_train"][:n]), one_hot(data["y_train"][:n]), 128
    )

    print("regressors ...", flush=True)
    record["regressors"] = bench_regressors(100 if args.quick else 1000)

    print("dvc repro with nothing changed ...", flush=True)
    record["dvc_repro_noop"] = bench_dvc_noop()
    record["peak_rss_mb_benchmark_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    write_json(OUTPUT, record, digits=4)
    rows = [
        ("MC passes/s, article loop (128 batch)", f"{mc['article_loop_passes_per_second']:,.0f}"),
        (f"MC passes/s, engine (128 batch, T={passes})", f"{mc['engine_passes_per_second']:,.0f}"),
        ("mc_speedup (engine / article loop)", f"{record['mc_speedup']:.2f}x"),
        ("float32 matmul GFLOP/s", f"{peak:.1f}"),
        ("engine GFLOP/s (work done)", f"{engine_gflops:.1f}"),
        ("roofline_fraction", f"{record['roofline_fraction']:.2f}"),
        (f"test set, T={test['passes']}: seconds", f"{test['seconds']:.1f}"),
        ("test set: peak RSS MB", f"{test['peak_rss_mb']:.0f}"),
        (
            "training samples/s, model.fit on arrays",
            f"{record['training']['model_fit_arrays_samples_per_second']:,.0f}",
        ),
        ("training samples/s, tf.data pipeline", f"{record['training']['pipeline_samples_per_second']:,.0f}"),
        ("regressors: model.fit seconds", f"{record['regressors']['model_fit_seconds']:.1f}"),
        ("regressors: compiled loop seconds", f"{record['regressors']['compiled_loop_seconds']:.1f}"),
        ("regressors: max |pred@15 difference|", f"{record['regressors']['max_abs_difference']:.4f}"),
        ("dvc repro, nothing changed: seconds", f"{record['dvc_repro_noop']['seconds']:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"\nbenchmarks ({record['ran']['cores']} cores, TF {tf.__version__}, float32) -> {OUTPUT}")
    print(f"  on {describe(record['ran']['machine'])}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>12}")


if __name__ == "__main__":
    main()
