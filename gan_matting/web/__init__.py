"""``gan-matting serve``: a local web page to matte one image and look at the result (see ``app``)."""

from .app import Limits, MattingService, create_app

__all__ = ["Limits", "MattingService", "create_app"]
