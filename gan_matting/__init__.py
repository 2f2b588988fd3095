"""gan_matting: GAN-based image matting that keeps hair, fur and jewellery.

A matte is alpha plus foreground colour F, with image = alpha * F + (1 - alpha) * B.
"""

import os
from pathlib import Path

__version__ = "0.1.0"

# numba (our kernels, the procedural renderer, pymatting's solvers) keeps its compiled code here
# between runs; set before any submodule imports numba. An existing NUMBA_CACHE_DIR wins.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "gan_matting" / "numba"))


class GanMattingError(Exception):
    """An error with a one-line message meant for the user (bad input, bad config, ...)."""
