"""Networks (generator, discriminators) and trainable models, registered by name."""
from . import basnet, cross_channel, discriminators, ensemble, fast_nets, maskrcnn, refiner, u2net, unet  # noqa: F401  (register the networks)
from .registry import MODELS, NETWORKS, build_network, count_parameters, register_model, register_network  # noqa: F401


def build_model(cfg, device):
    """The model named by cfg.model.name (e.g. 'matting_gan')."""
    from . import matting_gan  # noqa: F401  (registers the model; maskrcnn_trimap is registered on import above)
    from .. import GanMattingError
    if cfg.model.name not in MODELS:
        raise GanMattingError(f"unknown model {cfg.model.name!r}; registered: {', '.join(sorted(MODELS))}")
    return MODELS[cfg.model.name](cfg, device)
