"""Training: configs, step-indexed data, checkpoints, the loop, validation."""
