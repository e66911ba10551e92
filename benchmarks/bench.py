"""Speed benchmarks, side by side in one run: `make bench` (python -m benchmarks.bench).

Writes reports/benchmarks.json and prints a table. Ratios are measured within
this one run, so they hold on a noisy machine; the absolute figures depend on
it. Nothing here is a test: no figure is asserted.

1. MC passes/s on one 128-image batch, T passes: the article's loop
   (`model(x, training=True)` T times, eager) against the engine (uncertainty.models.mc); then the engine
   against the Sequential-only one it replaced (benchmarks.sequential_mc) on the trained article CNN,
   2,000 test images at T = 100, interleaved, with whether their passes are bit-identical
   (`--engine-only`: this alone, into reports/engine_before_after.json).
2. The engine's achieved GFLOP/s against a float32 matrix product's GFLOP/s.
3. The whole test set at T = 100 (one million passes): seconds and peak memory,
   in a fresh process (what the predict stage pays).
4. Training: samples/s for epochs of the plain CNN, each way of training in its
   own fresh process (tf.data pipeline, one step per call = the train stage
   before the training-speed work (docs/speed.md); the train stage's params, with and without batch shards, and
   with Keras' own swish gradient; the same CNN with no activations at all (a
   bound, not a way to train the article's CNN); model.fit on arrays;
   steps_per_execution; other batch shard counts; XLA; one thread; two CNNs in
   one graph; two one-thread processes at once; bfloat16 where the CPU has
   it). The ways run interleaved over rounds (the order reversed every other round), each
   keeping its best round, so a slow spell of the machine does not land on one
   way only. The speedup of each over the pipeline (best against best, and each
   round against the same round's pipeline), and the training roofline
   fraction (3 x forward FLOPs per image over the matmul rate). Then the
   pipeline, the params and the bound again in pairs: each speedup as a geometric
   mean of per-pair ratios with a 95 % interval, against the 2x target of that work. Then where a
   step's time goes (TensorFlow's profiler, ms per op and layer), and whether
   the params' path trains as well: test accuracy and NLL over 3 seeds on both
   paths (3 epochs).
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

from benchmarks.sequential_mc import SequentialMCDropout
from uncertainty.core.io import load_npz, write_json
from uncertainty.core.machine import machine_info
from uncertainty.data.images import one_hot, to_model_input
from uncertainty.data.linear import linear_data
from uncertainty.evaluation.statistics import t_interval, word
from uncertainty.models.cnn import build_cnn, compile_cnn, load_cnn
from uncertainty.models.mc import MCDropout
from uncertainty.models.regressors import build_regressor, train_regressors
from uncertainty.models.runtime import seed_everything
from uncertainty.models.training import evaluate, make_dataset, train_cnn
from uncertainty.report.summary import describe_machine

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


def bench_engine_before_after(
    model: keras.Model, images: np.ndarray, passes: int, engine: dict[str, Any], rounds: int = 4
) -> dict[str, Any]:
    """The graph engine (uncertainty.models.mc) against the Sequential-only one it replaced
    (benchmarks.sequential_mc), on the same model and images, interleaved over rounds (the order
    reversed every other round), each keeping its best; and whether their passes are bit-identical."""
    ways = {
        "sequential_engine": SequentialMCDropout(model, 84, **engine),
        "graph_engine": MCDropout(model, 84, **engine),
    }
    outputs = {name: sampler.sample(images, passes) for name, sampler in ways.items()}  # compile and keep
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for index in range(rounds):
        for name in list(ways)[:: 1 if index % 2 == 0 else -1]:
            started = time.perf_counter()
            ways[name].sample(images, passes)
            seconds[name].append(time.perf_counter() - started)
    best = {name: min(times) for name, times in seconds.items()}
    return {
        "images": len(images),
        "passes": passes,
        "rounds": rounds,
        "seconds": seconds,
        "best_seconds": best,
        "graph_over_sequential_speed": best["sequential_engine"] / best["graph_engine"],
        "bit_identical": bool(np.array_equal(outputs["sequential_engine"], outputs["graph_engine"])),
    }


def bench_test_set(passes: int, engine: dict[str, Any]) -> dict[str, Any]:
    """Whole test set at T passes in a fresh process: seconds (sampling only) and peak RSS."""
    code = f"""
import os, time, json, resource
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from uncertainty.data.images import to_model_input
from uncertainty.core.io import load_npz
from uncertainty.models.mc import MCDropout
from uncertainty.models.cnn import build_cnn, load_cnn
images = to_model_input(load_npz("data/dataset.npz")["x_test"])
model = load_cnn("models/dropout.npz", lambda rate: build_cnn(dropout_rate=rate))[0] if os.path.exists("models/dropout.npz") else build_cnn(dropout_rate=0.1)
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


def train_epochs(images: int, *options: str, processes: int = 1) -> list[dict[str, Any]]:
    """Start `processes` `benchmarks.train_epoch` processes at once (same options); their JSON lines."""
    command = [sys.executable, "-m", "benchmarks.train_epoch", "--images", str(images), *options]
    running = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    outputs = [process.communicate() for process in running]
    for process, (_, stderr) in zip(running, outputs, strict=True):
        if process.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    return [json.loads(stdout.splitlines()[-1]) for stdout, _ in outputs]


# Ways to train the article's CNN (batch 128, Adam 1e-3, seed 84), each in a fresh process.
# "pipeline" is the train stage's path before the training-speed work (one step per call, tf.data's own
# threads and autotuner, Keras' own swish gradient); "params" is today's (one-thread input
# pipeline, params.yaml's steps per call and batch shards, uncertainty.models.cnn.swish).
# "params_one_batch_shard" is the same without shards, and the others change one thing
# from it (or, for arrays, from the pipeline).
TWO_PROCESSES = "two_processes_one_thread_each"


def training_candidates(train_params: dict[str, Any], bfloat16_native: bool) -> dict[str, tuple[str, ...]]:
    # The variants below change one thing of the params' steps per call, with one shard.
    steps = ("--steps-per-execution", str(train_params["steps_per_execution"]))
    params = (*steps, "--batch-shards", str(train_params["batch_shards"]))
    shard_ways = {1: "params_one_batch_shard", 2: "batch_shards_2", 4: "batch_shards_4"}
    candidates = {
        "pipeline": ("--input", "autotuned", "--activation", "keras"),
        "params": params,
        # The other slice counts (the params' own is "params" itself).
        **{
            name: (*steps, "--batch-shards", str(shards))
            for shards, name in shard_ways.items()
            if shards != train_params["batch_shards"]
        },
        # Keras' own swish, TensorFlow's gradient: the train stage's before uncertainty.models.cnn.swish.
        "keras_swish_gradient": (*params, "--activation", "keras"),
        # Not the article's CNN: no activations at all, so what any cheaper activation could still gain.
        "bound_no_activations": (*params, "--activation", "none"),
        "params_one_step_per_call": (),
        "arrays": ("--input", "arrays", "--activation", "keras"),
        "steps_per_execution_128": ("--steps-per-execution", "128"),
        "jit_compile": (*steps, "--jit-compile"),
        "one_thread": (*steps, "--threads", "1"),
        "two_towers_one_thread_each": (*steps, "--towers", "2", "--threads", "1"),
        # Two one-thread trainings at once, one per core: their combined samples/s.
        TWO_PROCESSES: (*steps, "--threads", "1"),
    }
    if bfloat16_native:  # on AVX2-only CPUs bfloat16 is emulated and several times slower
        candidates["mixed_bfloat16"] = (*steps, "--precision", "mixed_bfloat16")
    return candidates


def bench_training(
    images: int,
    matmul: float,
    flops_per_image: int,
    bfloat16_native: bool,
    train_params: dict[str, Any],
    rounds: int = 2,
) -> dict[str, Any]:
    """Training samples/s for each way, interleaved over `rounds`, and its share of the matmul rate.

    Training work per image is forward + backward ~= 3 forward passes; the roofline
    fraction is that work's GFLOP/s over this run's float32 matrix-product GFLOP/s.
    "params" is the train stage's way today; "pipeline" the way before the training-speed work.
    """
    candidates = training_candidates(train_params, bfloat16_native)
    per_round: dict[str, list[float]] = {name: [] for name in candidates}
    for round_index in range(rounds):
        for name in candidates if round_index % 2 == 0 else reversed(candidates):
            print(f"  training, round {round_index + 1}/{rounds}: {name} ...", flush=True)
            records = train_epochs(images, *candidates[name], processes=2 if name == TWO_PROCESSES else 1)
            per_round[name].append(sum(record["samples_per_second"] for record in records))
    rates = {name: max(values) for name, values in per_round.items()}
    baseline = rates["pipeline"]
    return {
        "images": images,
        "batch_size": 128,
        "rounds": rounds,
        "options": {name: " ".join(options) for name, options in candidates.items()},
        "training_flops_per_image": 3 * flops_per_image,
        "samples_per_second": rates,
        "samples_per_second_per_round": per_round,
        "speedup_over_pipeline": {name: rate / baseline for name, rate in rates.items()},
        # Each round's rate over the same round's pipeline: how far the best-of ratio moves.
        "speedup_over_pipeline_per_round": {
            name: [rate / base for rate, base in zip(values, per_round["pipeline"], strict=True)]
            for name, values in per_round.items()
        },
        "training_roofline_fraction": {
            name: rate * 3 * flops_per_image / 1e9 / matmul for name, rate in rates.items()
        },
    }


def bench_training_pairs(
    images: int, train_params: dict[str, Any], pairs: int, target: float = 2.0
) -> dict[str, Any]:
    """The params' speedup over the pipeline as a ratio with an interval, not one best-of figure.

    `pairs` times: the pipeline, the params' way and the no-activation bound, each in a fresh
    process, one after another (the order reversed every other time). Each params (and bound)
    epoch is divided by the same pair's pipeline epoch; the geometric mean of those ratios and
    its 95 % t-interval (on their logarithms) say whether `target` (the training-speed work's 2x target) is reached
    ("reached": the interval is above it), missed (below it) or cannot be told apart.
    """
    ways = training_candidates(train_params, bfloat16_native=False)
    names = ("pipeline", "params", "bound_no_activations")
    rates: dict[str, list[float]] = {name: [] for name in names}
    for pair in range(pairs):
        for name in names if pair % 2 == 0 else reversed(names):
            print(f"  training pairs, {pair + 1}/{pairs}: {name} ...", flush=True)
            rates[name].append(train_epochs(images, *ways[name])[0]["samples_per_second"])
    record: dict[str, Any] = {"images": images, "pairs": pairs, "target": target, "samples_per_second": rates}
    for name in names[1:]:
        record[f"{name}_over_pipeline"] = speedup_interval(rates[name], rates["pipeline"], target)
    return record


def speedup_interval(rates: list[float], baselines: list[float], target: float) -> dict[str, Any]:
    """Paired rates -> their ratios' geometric mean, its 95 % t-interval, and the target's verdict.

    On logarithms, so a ratio and its inverse are equally far from 1. "reached": the whole
    interval is above `target`; "missed": all of it below; else "undecided" (statistics.word).
    """
    ratios = np.divide(rates, baselines)
    interval = t_interval(np.log(ratios))
    low, high = float(np.exp(interval["low"])), float(np.exp(interval["high"]))
    return {
        "ratios": ratios.tolist(),
        "geometric_mean": float(np.exp(interval["mean"])),
        "low": low,
        "high": high,
        "target": word(low - target, high - target, words="target", at_least=True),
    }


def profile_training_step(x: np.ndarray, y: np.ndarray, steps: int = 40) -> dict[str, Any]:
    """Where a training step's time goes: TensorFlow's profiler over `steps` steps, ms per step by op.

    Op times overlap (two executor threads), so their sum exceeds the wall time per step.
    Reads the profiler's XSpace protobuf through TensorFlow's own (private) module.
    """
    import collections
    import glob
    import shutil
    import tempfile

    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    seed_everything(84)
    model = build_cnn(dropout_rate=0.0)
    compile_cnn(model, 0.001)
    # Keras names layers process-wide (conv2d_4, ...); the ops carry those names plus a scope
    # suffix (conv2d_4_1). Label them by position in the article's CNN instead: conv1..conv4.
    convolutions = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]

    def label(name: str) -> str:
        for part in name.split("/"):
            # The longest matching name: "conv2d_1_1" is layer conv2d_1's scope, not conv2d's.
            matches = [layer for layer in convolutions if part == layer or part.startswith(f"{layer}_")]
            if matches:
                return f"conv{convolutions.index(max(matches, key=len)) + 1}"
        return ""

    n = steps * 128
    model.fit(make_dataset(x[:n], y[:n], 128, seed=84), epochs=1, verbose=0, shuffle=False)
    directory = tempfile.mkdtemp()
    try:
        tf.profiler.experimental.start(directory)
        start = time.perf_counter()
        model.fit(make_dataset(x[:n], y[:n], 128, seed=84), epochs=1, verbose=0, shuffle=False)
        wall = time.perf_counter() - start
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        space.ParseFromString(Path(glob.glob(f"{directory}/**/*.xplane.pb", recursive=True)[0]).read_bytes())
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    by_op: collections.Counter[str] = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                kind = name.rsplit(":", 1)[-1]
                if kind != "Process":  # the executor's wrapper around the ops
                    # "…/conv2d_4_1/convolution/Conv2DBackpropFilter:_MklNative…" -> "kind conv1"
                    by_op[f"{kind} {label(name)}".strip()] += event.duration_ps / 1e9 / steps
    return {
        "steps": steps,
        "wall_ms_per_step": wall / steps * 1000,
        "op_ms_per_step": {name: round(ms, 4) for name, ms in by_op.most_common(20)},
    }


def bench_training_quality(
    data: dict[str, np.ndarray], epochs: int, seeds: tuple[int, ...], train_params: dict[str, Any]
) -> dict[str, Any]:
    """Does the params' path train as well as the path before the training-speed work? Same seeds, shortened recipe.

    The input pipelines give the same batches (tests/test_training.py), so only the steps
    per call, the batch shards and the swish gradient (Keras' own on the pipeline's
    path, uncertainty.models.cnn.swish on the params') can move the bits. For the plain and the dropout CNN:
    test accuracy and NLL per seed on each path (`epochs` epochs), the paired difference
    (params - pipeline) with its 95 % t-interval, set beside the pipeline's seed-to-seed
    standard deviation.
    """
    train = (to_model_input(data["x_train"]), one_hot(data["y_train"], 10))
    test = (to_model_input(data["x_test"]), one_hot(data["y_test"], 10))
    # Each path's way of stepping; its input pipeline is the stage's either way (same batches).
    # The shards run on this process's threads (TensorFlow's defaults): the same arithmetic
    # as the stage's one thread per shard, scheduled differently.
    paths = {
        "pipeline": {"steps_per_execution": 1, "batch_shards": 1, "activation": "swish"},
        "params": {key: train_params[key] for key in ("steps_per_execution", "batch_shards")},
    }
    models = {"plain": 0.0, "dropout": float(train_params["models"]["dropout"]["dropout_rate"])}

    def scores(model_name: str, path: str) -> dict[str, list[float]]:
        """Test accuracy and NLL of one CNN on one path, a value per seed."""
        per_seed: dict[str, list[float]] = {"accuracy": [], "nll": []}
        for seed in seeds:
            print(f"  quality: {model_name} CNN, {path}, seed {seed} ...", flush=True)
            seed_everything(seed)
            model, _, _ = train_cnn(
                models[model_name],
                seed,
                train,
                test,
                epochs,
                128,
                0.001,
                **paths[path],
                verbose=0,
            )
            result = evaluate(model, test)
            per_seed["accuracy"].append(result["accuracy"])
            per_seed["nll"].append(result["loss"])
        return per_seed

    shown = {  # "swish" is Keras' own activation; without the key, build_cnn's default
        path: {
            **options,
            "activation": "keras swish" if "activation" in options else "uncertainty.models.cnn.swish",
        }
        for path, options in paths.items()
    }
    record: dict[str, Any] = {"epochs": epochs, "seeds": list(seeds), "paths": shown}
    for model_name in models:
        runs = {path: scores(model_name, path) for path in paths}
        summary = {}
        for metric in ("accuracy", "nll"):
            difference = t_interval(np.subtract(runs["params"][metric], runs["pipeline"][metric]))
            spread = float(np.std(runs["pipeline"][metric], ddof=1))
            summary[metric] = {
                "difference": difference,
                "seed_std_pipeline": spread,
                "within_seed_spread": abs(difference["mean"]) <= spread,
            }
        record[model_name] = {"per_seed": runs, "params_minus_pipeline": summary}
    return record


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
    parser.add_argument("--no-quality", action="store_true", help="skip the seeds check (about 6 minutes)")
    parser.add_argument("--train-images", type=int, default=30000, help="images per timed training epoch")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the ways of training")
    parser.add_argument(
        "--pairs", type=int, default=6, help="pipeline/params pairs for the speedup's interval"
    )
    parser.add_argument("--engine-only", action="store_true", help="only the MC engine before and after")
    args = parser.parse_args()

    import yaml

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    engine, train_params = params["mc_engine"], params["train"]
    data = load_npz(ROOT / "data/dataset.npz", keys=("x_train", "y_train", "x_test", "y_test"))
    batch = to_model_input(data["x_test"][:128])
    seed_everything(84)
    dropout_model = build_cnn(dropout_rate=0.1)
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

    print("MC engine before and after the graph walk (article CNN, test images) ...", flush=True)
    trained = ROOT / "models" / "dropout.npz"
    article = (
        load_cnn(trained, lambda rate: build_cnn(dropout_rate=rate))[0] if trained.exists() else dropout_model
    )
    record["engine_before_after"] = bench_engine_before_after(
        article, to_model_input(data["x_test"][:2000]), 10 if args.quick else args.test_passes, engine
    )
    if args.engine_only:
        write_json(ROOT / "reports" / "engine_before_after.json", record)
        print(json.dumps(record["engine_before_after"], indent=1))
        return

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

    print("training, each way in its own process ...", flush=True)
    isa = record["ran"]["machine"]["isa"]
    training = bench_training(
        6000 if args.quick else args.train_images,
        peak,
        total_flops,
        bool(isa.get("avx512_bf16") or isa.get("amx_bf16")),
        train_params,
        rounds=1 if args.quick else args.rounds,
    )
    record["training"] = training
    record["training_roofline_fraction"] = training["training_roofline_fraction"]["pipeline"]
    record["training_roofline_fraction_params"] = training["training_roofline_fraction"]["params"]
    print("training, the pipeline against the params in pairs ...", flush=True)
    record["training"]["pairs"] = bench_training_pairs(
        6000 if args.quick else args.train_images, train_params, 2 if args.quick else args.pairs
    )
    print("training profile ...", flush=True)
    record["training"]["profile"] = profile_training_step(
        to_model_input(data["x_train"][:6000]), one_hot(data["y_train"][:6000], 10)
    )
    if not args.no_quality:
        print("training quality across seeds ...", flush=True)
        record["training_quality"] = bench_training_quality(
            data if not args.quick else {k: v[:3000] for k, v in data.items()},
            1 if args.quick else 3,
            (84, 85, 86),
            train_params,
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
        (
            "graph engine / Sequential-only engine (speed; bit-identical)",
            f"{record['engine_before_after']['graph_over_sequential_speed']:.2f}x; "
            f"{record['engine_before_after']['bit_identical']}",
        ),
        ("float32 matmul GFLOP/s", f"{peak:.1f}"),
        ("engine GFLOP/s (work done)", f"{engine_gflops:.1f}"),
        ("roofline_fraction", f"{record['roofline_fraction']:.2f}"),
        (f"test set, T={test['passes']}: seconds", f"{test['seconds']:.1f}"),
        ("test set: peak RSS MB", f"{test['peak_rss_mb']:.0f}"),
        *(
            (
                f"training samples/s, {name}",
                f"{rate:,.0f} ({training['speedup_over_pipeline'][name]:.2f}x; rounds "
                + " ".join(f"{ratio:.2f}" for ratio in training["speedup_over_pipeline_per_round"][name])
                + ")",
            )
            for name, rate in training["samples_per_second"].items()
        ),
        *(
            (
                f"{name} / pipeline, {record['training']['pairs']['pairs']} pairs",
                f"{ratio['geometric_mean']:.2f}x [{ratio['low']:.2f}, {ratio['high']:.2f}]: 2x {ratio['target']}",
            )
            for name in ("params", "bound_no_activations")
            for ratio in [record["training"]["pairs"][f"{name}_over_pipeline"]]
        ),
        ("training_roofline_fraction (pipeline)", f"{record['training_roofline_fraction']:.2f}"),
        ("training_roofline_fraction (params)", f"{record['training_roofline_fraction_params']:.2f}"),
        ("regressors: model.fit seconds", f"{record['regressors']['model_fit_seconds']:.1f}"),
        ("regressors: compiled loop seconds", f"{record['regressors']['compiled_loop_seconds']:.1f}"),
        ("regressors: max |pred@15 difference|", f"{record['regressors']['max_abs_difference']:.4f}"),
        ("dvc repro, nothing changed: seconds", f"{record['dvc_repro_noop']['seconds']:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"\nbenchmarks ({record['ran']['cores']} cores, TF {tf.__version__}, float32) -> {OUTPUT}")
    print(f"  on {describe_machine(record['ran']['machine'])}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>12}")


if __name__ == "__main__":
    main()
