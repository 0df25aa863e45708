"""The catalog: GPUs by canonical name, name resolution with aliases and "did you mean" hints."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping

from planner.catalog.gpu import Gpu
from planner.catalog.loader import load_builtin_gpus


class UnknownGpu(KeyError):
    """A GPU name the catalog does not know. str() is a clean, user-facing message."""

    def __init__(self, name: str, suggestion: str | None = None, known: Iterable[str] = ()):
        self.name = name
        self.suggestion = suggestion
        self.known = tuple(known)
        super().__init__(name)

    def __str__(self) -> str:  # KeyError would repr-quote the whole message
        if self.suggestion:
            return f"unknown GPU {self.name!r}; did you mean {self.suggestion!r}?"
        return f"unknown GPU {self.name!r}; known GPUs: {', '.join(self.known)}"


def normalize_gpu_name(name: str) -> str:
    """The form names are matched in: case-insensitive, spaces and underscores as '-', and
    without the vendor prefix GPU Feature Discovery and nvidia-smi put in front
    ("NVIDIA-H100-80GB-HBM3", "NVIDIA A100-SXM4-80GB")."""
    key = re.sub(r"[\s_]+", "-", name.strip().lower())
    return key.removeprefix("nvidia-")


class Catalog:
    """GPUs by canonical name, in data-file order. Treat as immutable: derive with `with_gpus`."""

    def __init__(self, gpus: Mapping[str, Gpu] | Iterable[Gpu]):
        items = list(gpus.items()) if isinstance(gpus, Mapping) else [(g.name, g) for g in gpus]
        self.gpus: dict[str, Gpu] = {}
        for key, gpu in items:
            if key != gpu.name:
                raise ValueError(f"catalog key {key!r} differs from the GPU's name {gpu.name!r}")
            if key in self.gpus:
                raise ValueError(f"GPU {key!r} is defined twice")
            self.gpus[key] = gpu
        # normalized spelling -> canonical name, and -> the spelling to show in hints
        self._index: dict[str, str] = {}
        self._spelling: dict[str, str] = {}
        for gpu in self.gpus.values():
            for spelling in (gpu.name, *gpu.aliases):
                key = normalize_gpu_name(spelling)
                owner = self._index.get(key)
                if owner is not None and owner != gpu.name:
                    raise ValueError(
                        f"GPU name or alias {spelling!r} is used by both {owner} and {gpu.name}"
                    )
                self._index[key] = gpu.name
                self._spelling.setdefault(key, spelling)

    def resolve(self, name: str) -> str:
        """Canonical name for a name or alias (case-insensitive); UnknownGpu with a hint otherwise."""
        key = normalize_gpu_name(str(name))
        found = self._index.get(key)
        if found is not None:
            return found
        close = difflib.get_close_matches(key, list(self._index), n=1, cutoff=0.6)
        raise UnknownGpu(str(name), self._spelling[close[0]] if close else None, self.gpus)

    def gpu(self, name: str) -> Gpu:
        return self.gpus[self.resolve(name)]

    def with_gpus(self, extra: Mapping[str, Gpu]) -> "Catalog":
        """A copy where `extra` replaces GPUs of the same canonical name (keeping their place)
        and adds new ones at the end. Aliases must stay unambiguous (ValueError otherwise)."""
        merged = dict(self.gpus)
        merged.update(extra)
        return Catalog(merged)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_gpu_name(name) in self._index

    def __iter__(self) -> Iterator[Gpu]:
        return iter(self.gpus.values())

    def __len__(self) -> int:
        return len(self.gpus)

    def __repr__(self) -> str:
        return f"Catalog({list(self.gpus)})"


@functools.cache
def load_catalog() -> Catalog:
    """The built-in catalog, read once from the package data."""
    return Catalog(load_builtin_gpus())
