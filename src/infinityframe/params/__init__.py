"""Building job frames: parameter rules, schemas, samplers, grids and re-runs."""
