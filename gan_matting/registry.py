"""Name -> class/function tables filled where things are defined (pix2pix-style registries)."""

from __future__ import annotations

from typing import Callable, Dict, TypeVar

T = TypeVar("T")


class Registry(Dict[str, object]):
    """A dict with a ``register(name)`` decorator. ``kind`` names the table in error messages."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self[name] = obj
            return obj
        return deco
