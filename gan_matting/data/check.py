"""Validate a dataset folder: counts, missing partners, size mismatches, unreadable files, trimap values."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Tuple

from .. import GanMattingError
from .io import ImageReadError, read_alpha, read_rgb, read_trimap
from .layouts import read_folder


@dataclass
class CheckReport:
    root: Path
    layout: str
    n_samples: int = 0
    counts: dict = field(default_factory=dict)
    problems: List[Tuple[str, str]] = field(default_factory=list)  # (file, what is wrong)

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        lines = [f"{self.root}: layout {self.layout}, {self.n_samples} samples"]
        lines += [f"  {k}: {v}" for k, v in sorted(self.counts.items())]
        if self.ok:
            lines.append("OK: no problems found")
        else:
            lines.append(f"{len(self.problems)} problem(s):")
            lines += [f"  {f}: {why}" for f, why in self.problems]
        return "\n".join(lines)


def check_folder(root, layout: str = "auto") -> CheckReport:
    """Read every file of every sample; collect problems instead of stopping at the first."""
    folder = read_folder(root, layout)
    rep = CheckReport(root=Path(root), layout=folder.layout, n_samples=len(folder.samples))
    for path, why in folder.orphans:
        rep.problems.append((str(path), why))
    readers = {"image": read_rgb, "fg": read_rgb, "bg": read_rgb, "alpha": read_alpha, "region": read_alpha}
    from tqdm import tqdm
    for s in tqdm(folder.samples, desc="check-data", disable=len(folder.samples) < 10):
        sizes = {}
        for key, reader in readers.items():
            p = getattr(s, key)
            if p is None:
                continue
            rep.counts[key] = rep.counts.get(key, 0) + 1
            try:
                sizes[str(p)] = reader(p).shape[:2]
            except ImageReadError as exc:
                rep.problems.append((str(p), str(exc).split(": ", 1)[-1]))
        for tname, p in s.trimaps.items():
            rep.counts[tname] = rep.counts.get(tname, 0) + 1
            try:
                sizes[str(p)] = read_trimap(p).shape
            except ImageReadError as exc:
                rep.problems.append((str(p), str(exc).split(": ", 1)[-1]))
        if len(set(sizes.values())) > 1:
            desc = ", ".join(f"{Path(k).parent.name}/{Path(k).name} {v[1]}x{v[0]}" for k, v in sizes.items())
            rep.problems.append((s.name, f"size mismatch: {desc}"))
    return rep


def check_or_raise(root, layout: str = "auto") -> CheckReport:
    rep = check_folder(root, layout)
    if not rep.ok:
        raise GanMattingError(rep.format())
    return rep
