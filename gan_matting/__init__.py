"""gan_matting: GAN-based image matting that keeps hair, fur and jewellery.

A matte is alpha plus foreground colour F, with image = alpha * F + (1 - alpha) * B.
"""

__version__ = "0.1.0"


class GanMattingError(Exception):
    """An error with a one-line message meant for the user (bad input, bad config, ...)."""
