"""Read the catalog's data files (package data) into `Gpu` values, strictly.

The YAML schema here is deliberately separate from the public value types: the files are
written DRY (one placement table per geometry family, `+me` variants derived from their base
shape), and every level forbids unknown keys and duplicate keys, so a typo in a data file fails
loudly in the tests instead of silently dropping a value.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from planner.catalog.gpu import ARCHITECTURES, Gpu, MigGeometry, MigProfile

GPU_FILE = "gpus.yaml"
GEOMETRY_FILE = "mig_geometry.yaml"


class CatalogDataError(ValueError):
    """A data file is inconsistent in a way the per-file schema cannot see."""


# --------------------------------------------------------------------------- YAML reading


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that refuses duplicate mapping keys (PyYAML keeps the last one silently).

    Built on libyaml's parser where PyYAML has it: the catalog's data files are parsed on every
    command, and the pure-Python parser took ~0.45 s of `mig-plan estimate`'s ~1 s."""


def _mapping_without_duplicates(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise CatalogDataError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def read_data_file(name: str) -> Any:
    """Parse one YAML file shipped in planner/catalog/data/."""
    text = resources.files("planner.catalog").joinpath("data", name).read_text(encoding="utf-8")
    return parse_yaml(text)


# --------------------------------------------------------------------------- file schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ShapeEntry(_Strict):
    """A GPU-instance shape of a family. A variant (`variant_of`) reuses its base's placement."""

    profile_id: int = Field(ge=0)
    max_count: int = Field(ge=1)
    slots: int | None = Field(default=None, ge=1)
    starts: list[int] | None = None
    compute_slices: int | None = Field(default=None, ge=1)
    variant_of: str | None = None
    suffix: str | None = None
    media: bool | None = None  # defaults to True for variants (the only variants modelled are +me)

    @model_validator(mode="after")
    def _base_or_variant(self) -> "ShapeEntry":
        placement = (self.slots, self.starts, self.compute_slices)
        if self.variant_of is None:
            if None in placement or self.suffix is not None:
                raise ValueError("a base shape needs slots, starts and compute_slices, and no suffix")
        elif any(v is not None for v in placement) or not self.suffix:
            raise ValueError("a variant takes its placement from variant_of and needs a suffix")
        return self


class FamilyEntry(_Strict):
    source: str = Field(min_length=1)
    slots: int = Field(ge=1)
    compute_slices: int = Field(ge=1)
    shapes: dict[str, ShapeEntry]


class GeometryFile(_Strict):
    families: dict[str, FamilyEntry]


class ProfileEntry(_Strict):
    name: str
    memory_gib: float = Field(gt=0)
    sms: int = Field(ge=1)
    estimated: list[Literal["memory_gib", "sms"]] = []


class MigEntry(_Strict):
    family: str
    source: str = Field(min_length=1)
    profiles: dict[str, ProfileEntry]


class TflopsEntry(_Strict):
    # Required keys have no default: the file must say null explicitly for "not native".
    bf16: float | None
    fp16: float | None
    fp8: float | None
    int8: float | None
    fp4: float | None
    fp32: float | None = None
    tf32: float | None = None


class GpuEntry(_Strict):
    name: str = Field(min_length=1)
    aliases: list[str] = []
    architecture: Literal[ARCHITECTURES]  # type: ignore[valid-type]
    memory_gb: float = Field(gt=0)
    bandwidth_tbps: float = Field(gt=0)
    tflops: TflopsEntry
    sms: int = Field(ge=1)
    nvlink_gbps: float = Field(ge=0)
    nvlink_kind: Literal["none", "bridge", "switch"]
    tdp_w: float = Field(gt=0)
    pci_device_id: str | None
    alt_pci_device_ids: list[str] = []
    price_per_hour: float = Field(ge=0)
    price_source: str = Field(min_length=1)
    estimated: list[str] = []
    sources: list[str] = Field(min_length=1)
    mig: MigEntry | None  # required key: say `mig: null` for a GPU without MIG

    @model_validator(mode="after")
    def _nvlink_consistent(self) -> "GpuEntry":
        if (self.nvlink_gbps == 0) != (self.nvlink_kind == "none"):
            raise ValueError("nvlink_kind is 'none' exactly when nvlink_gbps is 0")
        return self


class GpuFile(_Strict):
    gpus: list[GpuEntry]


# --------------------------------------------------------------------------- building values


def build_geometries(data: Any) -> dict[str, FamilyEntry]:
    """Validate the geometry file; check that every variant names a base shape of its family."""
    doc = GeometryFile.model_validate(data)
    for fam_name, fam in doc.families.items():
        for shape_name, shape in fam.shapes.items():
            base = shape.variant_of
            if base is not None and (base not in fam.shapes or fam.shapes[base].variant_of is not None):
                raise CatalogDataError(
                    f"family {fam_name}: shape {shape_name} is a variant of {base!r}, "
                    "which is not a base shape of the family"
                )
    return dict(doc.families)


def _mig_geometry(gpu_name: str, entry: MigEntry, families: dict[str, FamilyEntry]) -> MigGeometry:
    fam = families.get(entry.family)
    if fam is None:
        raise CatalogDataError(f"{gpu_name}: unknown MIG family {entry.family!r}; known: {sorted(families)}")
    base_shapes = [k for k, s in fam.shapes.items() if s.variant_of is None]
    missing = set(base_shapes) - set(entry.profiles)
    extra = set(entry.profiles) - set(base_shapes)
    if missing or extra:
        raise CatalogDataError(
            f"{gpu_name}: MIG profiles must name exactly the base shapes of family {entry.family} "
            f"{base_shapes}; missing {sorted(missing)}, unknown {sorted(extra)}"
        )
    profiles: list[MigProfile] = []
    for shape_name, shape in fam.shapes.items():  # family order: the data file's order
        base_shape = fam.shapes[shape.variant_of] if shape.variant_of else shape
        per_gpu = entry.profiles[shape.variant_of or shape_name]
        profiles.append(
            MigProfile(
                name=per_gpu.name + (shape.suffix or ""),
                profile_id=shape.profile_id,
                slots=base_shape.slots,
                starts=tuple(base_shape.starts or ()),
                compute_slices=base_shape.compute_slices,
                max_count=shape.max_count,
                memory_gib=per_gpu.memory_gib,
                sms=per_gpu.sms,
                media=shape.media if shape.media is not None else shape.variant_of is not None,
                estimated=bool(per_gpu.estimated),
                estimated_fields=tuple(per_gpu.estimated),
            )
        )
    return MigGeometry(
        slots=fam.slots,
        compute_slices=fam.compute_slices,
        profiles=tuple(profiles),
        family=entry.family,
    )


def build_gpu(entry: GpuEntry | dict, families: dict[str, FamilyEntry] | None = None) -> Gpu:
    """One `Gpu` from a data-file entry (a dict in the gpus.yaml format, or a parsed entry).

    `families` defaults to the built-in geometry families, so a custom GPU (e.g. from a fleet
    file) can say `mig: {family: slot8, ...}` and reuse NVIDIA's placement table.
    """
    e = entry if isinstance(entry, GpuEntry) else GpuEntry.model_validate(entry)
    if families is None:
        families = builtin_families()
    return Gpu(
        name=e.name,
        aliases=tuple(e.aliases),
        architecture=e.architecture,
        memory_gb=e.memory_gb,
        bandwidth_tbps=e.bandwidth_tbps,
        tflops=e.tflops.model_dump(),
        sms=e.sms,
        nvlink_gbps=e.nvlink_gbps,
        nvlink_kind=e.nvlink_kind,
        tdp_w=e.tdp_w,
        pci_device_id=e.pci_device_id,
        alt_pci_device_ids=tuple(e.alt_pci_device_ids),
        price_per_hour=e.price_per_hour,
        price_source=e.price_source,
        estimated_fields=tuple(e.estimated),
        sources=tuple(e.sources),
        mig=_mig_geometry(e.name, e.mig, families) if e.mig is not None else None,
    )


def build_gpus(gpu_data: Any, geometry_data: Any) -> list[Gpu]:
    """All GPUs of a gpus.yaml document, in file order."""
    families = build_geometries(geometry_data)
    doc = GpuFile.model_validate(gpu_data)
    return [build_gpu(e, families) for e in doc.gpus]


@functools.cache
def builtin_families() -> dict[str, FamilyEntry]:
    return build_geometries(read_data_file(GEOMETRY_FILE))


def load_builtin_gpus() -> list[Gpu]:
    return build_gpus(read_data_file(GPU_FILE), read_data_file(GEOMETRY_FILE))
