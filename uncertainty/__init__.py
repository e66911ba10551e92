"""Library behind the pipeline: data, models, MC sampling, uncertainty metrics, plots."""
