"""Value types of the GPU catalog: a GPU, its MIG geometry and its MIG profiles.

These are plain immutable values; they say nothing about where the data comes from (see
`loader.py`) or how layouts are searched (see `planner/mig.py`). They validate themselves, so a
custom GPU defined in a fleet file gets the same checks as a built-in one.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Tensor precisions the catalog knows. The first five are always present in `Gpu.tflops`
# (None where the GPU has no native path); fp32 and tf32 are optional.
REQUIRED_PRECISIONS: tuple[str, ...] = ("bf16", "fp16", "fp8", "int8", "fp4")
OPTIONAL_PRECISIONS: tuple[str, ...] = ("fp32", "tf32")
PRECISIONS: tuple[str, ...] = OPTIONAL_PRECISIONS + REQUIRED_PRECISIONS

ARCHITECTURES: tuple[str, ...] = ("ampere", "hopper", "blackwell", "ada")

# `<g>g.<n>gb` with an optional variant suffix (`+me`, `+me.all`, `+gfx`, `-me`). The shape is
# what mig-parted accepts as a profile key.
PROFILE_NAME_RE = re.compile(r"^(?P<base>\d+g\.\d+gb)(?P<suffix>[+-][a-z.]+)?$")
PCI_ID_RE = re.compile(r"^0x[0-9A-F]{4}$")


class MigProfile(BaseModel):
    """One GPU-instance profile on one GPU: its placement rules and what a slice of it gets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str  # "3g.40gb", "1g.10gb+me"
    profile_id: int = Field(ge=0)  # nvidia-smi GPU-instance profile id
    slots: int = Field(ge=1)  # memory slots it takes
    starts: tuple[int, ...]  # legal start slots
    compute_slices: int = Field(ge=1)
    max_count: int = Field(ge=1)  # instances per GPU
    memory_gib: float = Field(gt=0)  # usable GiB as nvidia-smi reports it; plan on this, not the name
    sms: int = Field(ge=1)
    media: bool = False  # holds the media extensions (`+me`); at most one such instance per GPU
    estimated: bool = False  # memory or SMs not read off hardware (see estimated_fields)
    estimated_fields: tuple[str, ...] = ()  # which of memory_gib / sms are estimates

    @field_validator("name")
    @classmethod
    def _name_shape(cls, v: str) -> str:
        if not PROFILE_NAME_RE.match(v):
            raise ValueError(f"MIG profile name {v!r} is not of the form <g>g.<n>gb[+suffix]")
        return v

    @field_validator("starts")
    @classmethod
    def _starts_sorted(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(s < 0 for s in v) or list(v) != sorted(set(v)):
            raise ValueError("starts must be a non-empty, strictly increasing list of slots >= 0")
        return v

    @model_validator(mode="after")
    def _estimated_consistent(self) -> "MigProfile":
        unknown = set(self.estimated_fields) - {"memory_gib", "sms"}
        if unknown:
            raise ValueError(f"estimated_fields may name memory_gib and sms only, not {sorted(unknown)}")
        if self.estimated_fields and not self.estimated:
            # A profile listing estimated fields is estimated; set the flag rather than fail.
            object.__setattr__(self, "estimated", True)
        return self

    @property
    def base(self) -> str:
        """The name without its variant suffix: "1g.10gb+me" -> "1g.10gb"."""
        m = PROFILE_NAME_RE.match(self.name)
        assert m is not None  # checked by the validator
        return m.group("base")


class MigGeometry(BaseModel):
    """How one GPU type cuts into MIG instances: slots, compute slices and its profiles.

    Hashable and compared by value, so layout enumeration can be cached per geometry: two GPUs
    (say a built-in one and a fleet-file override of its price) share one enumeration.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    slots: int = Field(ge=1)
    compute_slices: int = Field(ge=1)
    profiles: tuple[MigProfile, ...]
    family: str = ""  # the placement table it uses, e.g. "slot8" (informational)

    @model_validator(mode="after")
    def _profiles_fit(self) -> "MigGeometry":
        names = [p.name for p in self.profiles]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate MIG profile names in {names}")
        for p in self.profiles:
            if p.starts[-1] + p.slots > self.slots:
                raise ValueError(
                    f"profile {p.name} starting at {p.starts[-1]} runs past slot {self.slots}"
                )
            if p.compute_slices > self.compute_slices:
                raise ValueError(f"profile {p.name} has more compute slices than the GPU")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.profiles)

    def profile(self, name: str) -> MigProfile:
        """The profile called `name`; KeyError when this geometry has none."""
        for p in self.profiles:
            if p.name == name:
                return p
        raise KeyError(name)

    def slot_fraction(self, name: str) -> float:
        """Share of the GPU's memory slots (and so of its memory bandwidth) a profile takes."""
        return self.profile(name).slots / self.slots


class Gpu(BaseModel):
    """One GPU type: datasheet figures, default price, PCI id and (if any) its MIG geometry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    aliases: tuple[str, ...] = ()
    architecture: str
    memory_gb: float = Field(gt=0)  # datasheet capacity
    bandwidth_tbps: float = Field(gt=0)
    tflops: dict[str, float | None]  # dense tensor rates per precision; None = not native
    sms: int = Field(ge=1)
    nvlink_gbps: float = Field(default=0.0, ge=0)  # per GPU; 0 = no NVLink
    nvlink_kind: Literal["none", "bridge", "switch"] = "none"
    tdp_w: float = Field(gt=0)
    pci_device_id: str | None = None  # "0x2330"
    alt_pci_device_ids: tuple[str, ...] = ()  # other device ids of the same product (A100 PCIe 40GB)
    price_per_hour: float = Field(ge=0)  # USD per GPU-hour, default; fleet files override it
    price_source: str = "user"  # "assumed", a reference, or "user" for fleet-file values
    estimated_fields: tuple[str, ...] = ()  # GPU-level figures that are inferred, not read off a datasheet
    sources: tuple[str, ...] = ()
    mig: MigGeometry | None = None

    @field_validator("tflops")
    @classmethod
    def _known_precisions(cls, v: dict[str, float | None]) -> dict[str, float | None]:
        out = {k.lower(): val for k, val in v.items()}
        unknown = set(out) - set(PRECISIONS)
        if unknown:
            raise ValueError(f"unknown precision(s) {sorted(unknown)}; known: {list(PRECISIONS)}")
        for k, val in out.items():
            if val is not None and val <= 0:
                raise ValueError(f"tflops.{k} must be positive or null")
        for k in REQUIRED_PRECISIONS:
            out.setdefault(k, None)
        return out

    @field_validator("pci_device_id")
    @classmethod
    def _pci_id(cls, v: str | None) -> str | None:
        if v is not None and not PCI_ID_RE.match(v):
            raise ValueError(f"pci_device_id {v!r} must look like '0x2330' (upper-case hex)")
        return v

    # Pydantic would hash every field and fail on the tflops dict. Equal GPUs have equal names and
    # geometries, so hashing those is consistent with ==.
    def __hash__(self) -> int:
        return hash((self.name, self.mig))

    @property
    def mig_capable(self) -> bool:
        return self.mig is not None

    def supports_precision(self, precision: str) -> bool:
        """True when the GPU has a native tensor-core rate for `precision` (e.g. no fp8 on A100)."""
        return self.tflops.get(precision.lower()) is not None
