"""Loss terms, one concept per function; every weight lives in the config (LossConfig)."""
from .adversarial import GANLoss  # noqa: F401
from .perceptual import build_perceptual  # noqa: F401
from .pixel import (alpha_l1, composition_loss, fg_l1, gradient_loss, laplacian_loss,  # noqa: F401
                    trimap_ce)
from .hybrid import deep_supervision, hybrid_loss  # noqa: F401
