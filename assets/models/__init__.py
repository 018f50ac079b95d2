"""Model stage: plain modules that turn the feature marts into calibrated, walk-forward-evaluated forecasts."""
