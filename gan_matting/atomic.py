"""Write files so that a crash never leaves a partial one under the final name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Union

TMP_MARK = ".tmp"  # temporary names are ".NAME.tmpPID" next to the target (and ignored by git)


def remove_leftovers(*folders: Union[str, Path]) -> None:
    """Delete temporary files (``.NAME.tmpPID``) that a killed ``atomic_write`` left in these folders."""
    for folder in map(Path, folders):
        if folder.is_dir():
            for p in folder.glob(f".*{TMP_MARK}*"):
                p.unlink(missing_ok=True)
                print(f"removed the leftover of an interrupted write: {p}", flush=True)


def atomic_write(path: Union[str, Path], write: Callable[[Path], None], fsync: bool = False,
                 mode: int | None = None) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic on POSIX, so readers see the old file or the new one, never half of one.
    ``fsync`` flushes the data to disk first (checkpoints); ``mode`` sets permissions (releases).
    The temporary file is removed whatever happens.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}{TMP_MARK}{os.getpid()}")
    try:
        write(tmp)
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p
