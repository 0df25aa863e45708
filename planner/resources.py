"""Resource strings: where one replica runs.

    H100-SXM5-80GB/3g.40gb   a MIG instance of that profile
    H100-SXM5-80GB           a whole GPU, MIG off
    H100-SXM5-80GB/tp4       four whole GPUs of one node joined by NVLink (tensor parallel)
    L4                       a GPU without MIG

Parsing here is syntax only; whether the GPU and profile exist is the catalog's question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ResourceKind = Literal["mig", "full", "tp"]

_PROFILE_RE = re.compile(r"^\d+g\.\d+gb([+-][a-z.]+)?$")
_TP_RE = re.compile(r"^tp(\d+)$")


@dataclass(frozen=True, order=True)
class Resource:
    gpu: str
    kind: ResourceKind
    profile: str | None = None  # for kind == "mig"
    gpus: int = 1  # whole GPUs it takes: tp size for "tp", 1 for "full", 0 for a MIG slice

    def __str__(self) -> str:
        if self.kind == "mig":
            return f"{self.gpu}/{self.profile}"
        if self.kind == "tp":
            return f"{self.gpu}/tp{self.gpus}"
        return self.gpu

    @staticmethod
    def mig(gpu: str, profile: str) -> "Resource":
        return Resource(gpu, "mig", profile, 0)

    @staticmethod
    def full(gpu: str) -> "Resource":
        return Resource(gpu, "full", None, 1)

    @staticmethod
    def tp(gpu: str, size: int) -> "Resource":
        return Resource(gpu, "tp", None, size)


class ResourceSyntaxError(ValueError):
    pass


def parse_resource(text: str) -> Resource:
    """Parse 'GPU', 'GPU/profile' or 'GPU/tpN' (GPU names are not resolved here)."""
    if not isinstance(text, str) or not text.strip():
        raise ResourceSyntaxError("a resource is written 'GPU', 'GPU/<profile>' or 'GPU/tp<N>'")
    parts = text.strip().split("/")
    if len(parts) > 2 or not parts[0] or (len(parts) == 2 and not parts[1]):
        raise ResourceSyntaxError(
            f"'{text}' is not a resource; write 'GPU', 'GPU/<profile>' (e.g. H100/3g.40gb) or 'GPU/tp<N>'"
        )
    gpu = parts[0]
    if len(parts) == 1:
        return Resource.full(gpu)
    tail = parts[1]
    tp = _TP_RE.match(tail)
    if tp:
        size = int(tp.group(1))
        if size < 1 or size > 64:
            raise ResourceSyntaxError(f"tensor-parallel size in '{text}' must be between 1 and 64")
        return Resource.full(gpu) if size == 1 else Resource.tp(gpu, size)
    if _PROFILE_RE.match(tail):
        return Resource.mig(gpu, tail)
    raise ResourceSyntaxError(
        f"'{tail}' in '{text}' is neither a MIG profile (like 3g.40gb) nor a tensor-parallel size (like tp4)"
    )
