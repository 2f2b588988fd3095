"""Dataset readers, IO, compositing, augmentation, trimaps, backgrounds, synthetic data."""
