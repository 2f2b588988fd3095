"""Inference: whole images (padded), and later tiling, refinement, video and export."""
