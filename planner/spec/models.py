"""The fleet file (DESIGN §2) as pydantic v2 models.

Only the shape and per-field limits live here; checks that need the catalog or look across
sections (a node naming a node type, a layout that must be placeable) live in `validate.py`.
Fields that accept more than one shape (`nvlink`, `mig`, `model`) are typed `Any` and checked by
a validator so that a user sees one clear message instead of one per union branch.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# Absurd values are errors, not plans: they are always typos (an extra zero or three).
MAX_COUNT = 100_000
MAX_PRICE = 1_000_000.0
MAX_TARGET = 1e12

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class StrictModel(BaseModel):
    """Unknown keys are errors; NaN and infinity are never numbers; no silent type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=True)


Price = Annotated[float, Field(ge=0, le=MAX_PRICE)]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]
Positive = Annotated[float, Field(gt=0, le=MAX_TARGET)]

Precision = Literal["fp32", "bf16", "fp16", "fp8", "int8", "int4", "fp4"]

TARGET_UNITS = (
    "output_tokens_per_s",
    "requests_per_s",
    "images_per_s",
    "videos_per_hour",
    "audio_seconds_per_s",
    "realtime_streams",
)


# --------------------------------------------------------------------------- GPUs and nodes


class GpuDefinition(StrictModel):
    """Override a catalog GPU's price, or define a GPU the catalog does not know."""

    price_per_hour: Price | None = None
    like: str | None = Field(None, description="catalog GPU to copy every unset figure (and MIG geometry) from")
    memory_gb: Annotated[float, Field(gt=0, le=10_000)] | None = None
    bandwidth_tbps: Annotated[float, Field(gt=0, le=1_000)] | None = None
    tflops: dict[str, Annotated[float, Field(gt=0, le=1e6)] | None] | None = None
    sms: Annotated[int, Field(ge=1, le=100_000)] | None = None
    nvlink_gbps: Annotated[float, Field(ge=0, le=1e6)] | None = None
    tdp_w: Annotated[float, Field(ge=0, le=1e5)] | None = None

    @field_validator("tflops")
    @classmethod
    def _known_precisions(cls, value: dict | None) -> dict | None:
        from planner.catalog import PRECISIONS

        for key in value or {}:
            if key not in PRECISIONS:
                raise ValueError(f"unknown precision '{key}' in tflops; known: {', '.join(PRECISIONS)}")
        return value


class NodeType(StrictModel):
    gpu: str
    count: Annotated[int, Field(ge=1, le=64)]
    nvlink: Any = Field("none", description="'all', 'none', or groups of GPU indices that are all NVLinked")
    price_per_hour: Price | None = Field(None, description="default: count × the GPU's price")
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("nvlink")
    @classmethod
    def _nvlink_shape(cls, value: Any) -> Any:
        if value in ("all", "none"):
            return value
        if isinstance(value, list) and all(
            isinstance(g, list) and g and all(isinstance(i, int) and not isinstance(i, bool) for i in g) for g in value
        ):
            return value
        raise ValueError("nvlink must be 'all', 'none', or a list of GPU index groups such as [[0, 1], [2, 3]]")


def _check_layout_value(value: Any) -> Any:
    # YAML 1.1 (PyYAML) reads an unquoted `off` as the boolean false.
    if value is False or (isinstance(value, str) and value in ("off", "disabled")):
        return "off"
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return value
    raise ValueError("a GPU layout is a list of MIG profiles such as [3g.40gb, 2g.20gb] or 'off' (MIG disabled)")


GpuLayout = Annotated[Any, AfterValidator(_check_layout_value)]


class Node(StrictModel):
    """One node that runs today (`name`), or a pool of identical ones (`pool` + `count`)."""

    name: str | None = None
    pool: str | None = None
    type: str
    count: Count | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    mig: dict[Any, GpuLayout] = Field(default_factory=dict, description="today's layout per GPU index, or 'all'")
    price_per_hour: Price | None = None

    @model_validator(mode="after")
    def _name_or_pool(self) -> "Node":
        if (self.name is None) == (self.pool is None):
            raise ValueError("give either 'name' (one node) or 'pool' with 'count' (identical nodes)")
        if self.name is not None and self.count is not None:
            raise ValueError("'count' belongs to a pool; use 'pool:' instead of 'name:' for several nodes")
        if self.pool is not None and self.count is None:
            raise ValueError(f"pool '{self.pool}' needs 'count' (how many identical nodes)")
        return self

    @field_validator("mig")
    @classmethod
    def _mig_shape(cls, value: dict) -> dict:
        out: dict[str | int, Any] = {}
        for key, layout in value.items():
            index = isinstance(key, int) and not isinstance(key, bool)
            if not (key == "all" or index or (isinstance(key, str) and key.isdigit())):
                raise ValueError(f"mig key {key!r} must be 'all' or a GPU index")
            out[int(key) if isinstance(key, str) and key.isdigit() else key] = layout
        return out

    @property
    def node_count(self) -> int:
        return self.count if self.pool is not None else 1


class MarketOffer(StrictModel):
    max: Annotated[int, Field(ge=0, le=MAX_COUNT)]
    price_per_hour: Price | None = None


# --------------------------------------------------------------------------- workloads


class Tokens(StrictModel):
    input: Annotated[int, Field(ge=1, le=10_000_000)]
    output: Annotated[int, Field(ge=1, le=10_000_000)]


class ImageSpec(StrictModel):
    width: Annotated[int, Field(ge=64, le=16_384)] = 1024
    height: Annotated[int, Field(ge=64, le=16_384)] = 1024
    steps: Annotated[int, Field(ge=1, le=1000)] | None = None


class VideoSpec(StrictModel):
    width: Annotated[int, Field(ge=64, le=8192)] = 1280
    height: Annotated[int, Field(ge=64, le=8192)] = 720
    seconds: Annotated[float, Field(gt=0, le=600)] = 5.0
    fps: Annotated[int, Field(ge=1, le=120)] = 16
    steps: Annotated[int, Field(ge=1, le=1000)] | None = None


class Target(StrictModel):
    """Exactly one throughput the workload must reach, in its own unit."""

    output_tokens_per_s: Positive | None = None
    requests_per_s: Positive | None = None
    images_per_s: Positive | None = None
    videos_per_hour: Positive | None = None
    audio_seconds_per_s: Positive | None = None
    realtime_streams: Positive | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Target":
        given = [u for u in TARGET_UNITS if getattr(self, u) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one target unit, one of: {', '.join(TARGET_UNITS)}")
        return self

    @property
    def unit(self) -> str:
        return next(u for u in TARGET_UNITS if getattr(self, u) is not None)

    @property
    def value(self) -> float:
        return float(getattr(self, self.unit))

    def as_dict(self) -> dict[str, float]:
        return {self.unit: self.value}


class Slo(StrictModel):
    ttft_ms: Positive | None = Field(None, description="time to first token, LLMs")
    tpot_ms: Positive | None = Field(None, description="time per output token, LLMs")
    latency_ms: Positive | None = Field(None, description="end-to-end time per request (images, video, speech)")


class Replicas(StrictModel):
    min: Annotated[int, Field(ge=0, le=MAX_COUNT)] = 1
    max: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = None
    spread: bool = Field(True, description="with min ≥ 2, put replicas on at least two nodes")

    @model_validator(mode="after")
    def _ordered(self) -> "Replicas":
        if self.max is not None and self.max < self.min:
            raise ValueError(f"replicas.max ({self.max}) is below replicas.min ({self.min})")
        return self


class Serving(StrictModel):
    """What Kubernetes runs for a replica; used by `export --format k8s`."""

    image: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    port: Annotated[int, Field(ge=1, le=65535)] | None = None


WorkloadKind = Literal["llm", "diffusion", "video", "tts", "asr", "generic"]


class Workload(StrictModel):
    name: str
    kind: WorkloadKind | None = Field(None, description="inferred from the model preset; 'generic' for capacities given by hand")
    model: Any = Field(None, description="a preset name (mig-plan catalog models) or an inline architecture")
    precision: Precision = "bf16"
    precision_fallback: bool = Field(False, description="run at bf16 where the GPU lacks the precision, instead of refusing")
    kv_cache_precision: Literal["auto", "bf16", "fp16", "fp8"] = "auto"
    tokens: Tokens | None = None
    image: ImageSpec | None = None
    video: VideoSpec | None = None
    target: Target
    slo: Slo | None = None
    replicas: Replicas = Field(default_factory=Replicas)
    memory_gb: Annotated[float, Field(gt=0, le=100_000)] | None = Field(None, description="generic workloads: memory per replica")
    capacity: dict[str, Positive] | None = Field(None, description="generic workloads: throughput per replica by resource")
    serving: Serving | None = None

    @field_validator("name")
    @classmethod
    def _label_safe(cls, value: str) -> str:
        if not NAME_RE.match(value) or len(value) > 40:
            raise ValueError(
                f"workload name '{value}' must be lowercase letters, digits and '-', start and end with a letter"
                " or digit, at most 40 characters (it becomes a Kubernetes name)"
            )
        return value

    @field_validator("model")
    @classmethod
    def _model_shape(cls, value: Any) -> Any:
        if value is None or isinstance(value, (str, dict)):
            return value
        raise ValueError("model is a preset name (see `mig-plan catalog models`) or a mapping describing the architecture")


class ProfileEntry(StrictModel):
    """A measured throughput: overrides the estimate for one workload on one resource."""

    workload: str
    resource: str
    throughput: Positive
    note: str | None = None


class Objective(StrictModel):
    minimize: Literal["cost"] = "cost"
    # Tie-breaks at equal cost, in order. `changes`: inventory nodes not kept as they are today
    # (re-cut or released) plus market nodes bought (solvers/countmodel.py `changes`).
    then: list[Literal["changes", "distinct_layouts"]] = Field(default_factory=lambda: ["changes", "distinct_layouts"])


# `solver.patterns: auto` searches replica patterns in the HiGHS process's second half from
# PATTERNS_AUTO_MIN_WORKLOADS workloads, in CP-SAT's time from PATTERNS_IN_CP_SAT_MIN_WORKLOADS, and
# not at all below. Generated benchmark fleets, this 2-core machine:
# - in HiGHS: L (200 workloads, 55 s) $9,048.36 -> $8,998.60 and XL (500, 260 s) gap 0.36 % -> 0.1 %;
#   but M (40, 9 s) $597.96 -> $608.72, its full model needing all of HiGHS's few seconds;
# - in CP-SAT's time: M, seeds 0-4, $605.91 -> $594.28, $627.18 -> $623.50, $603.08 -> $599.20,
#   $579.18 -> $578.28, $602.96 -> $599.20; 20 and 30 workloads (seeds 0-2) at 9 s three plans
#   cheaper and three equal, at 30 s two cheaper, three equal and one $0.08 dearer; 15 and 18
#   workloads (seeds 0-5, 9 s) four plans $3.36-4.27 cheaper, one $1.75 dearer, seven equal, and
#   15 at 30 s (seeds 0-2) one cheaper, one proven optimal in 11 s instead of 29 s, one equal;
#   12 workloads (seeds 0-5, 9 s) one cheaper, two dearer ($1.89, $0.03); 10 workloads one plan
#   dearer at 9 s ($142.92 -> $146.56: CP-SAT finds it given the time, the pattern MIP nothing
#   better than its start), the rest equal.
PATTERNS_AUTO_MIN_WORKLOADS = 100
PATTERNS_IN_CP_SAT_MIN_WORKLOADS = 15
# Where the replica-pattern search runs (`SolverSettings.pattern_search`, `solvers.cpsat.solve`):
# nowhere, in the HiGHS process's second half, or in CP-SAT's time after its head start.
PATTERNS_OFF, PATTERNS_IN_HIGHS, PATTERNS_IN_CP_SAT = "off", "highs", "cp-sat"
PATTERN_SEARCHES = (PATTERNS_OFF, PATTERNS_IN_HIGHS, PATTERNS_IN_CP_SAT)


class SolverSettings(StrictModel):
    time_limit_s: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    relative_gap: Annotated[float, Field(ge=0, lt=1)] = 0.0
    workers: Annotated[int, Field(ge=0, le=256)] = 0
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    # Race HiGHS (LP-based branch and cut, a second process) against CP-SAT for the cost stage
    # when CP-SAT has not proven optimality at once: much cheaper plans on large fleets.
    highs: bool = Field(True, description="race HiGHS against CP-SAT in a second process on fleets CP-SAT does not prove optimal at once")
    # Replica patterns (solvers/patterns.py): much cheaper plans on fleets CP-SAT does not prove
    # optimal at once. true: in the HiGHS process, after its first half; auto: there from
    # PATTERNS_AUTO_MIN_WORKLOADS workloads, and from PATTERNS_IN_CP_SAT_MIN_WORKLOADS in CP-SAT's
    # time (CP-SAT waits after its head start while HiGHS searches patterns), where the full model
    # needs all of the racing HiGHS's time (README "Performance"). Patterns need the race: none with
    # `highs: false` or `deterministic: true`.
    patterns: Any = Field(
        "auto",
        description="look for cheaper plans over whole-replica patterns priced by the LP (price-and-branch); true: in "
        "the HiGHS process after its first half; auto: there for fleets of "
        f"{PATTERNS_AUTO_MIN_WORKLOADS} workloads or more, and in CP-SAT's time (after its head start) from "
        f"{PATTERNS_IN_CP_SAT_MIN_WORKLOADS}",
        json_schema_extra={"anyOf": [{"type": "boolean"}, {"const": "auto"}]},
    )
    # Reproducible plans even when the time limit ends the search (a nightly replan should not
    # flip between equal-cost plans): the limit then counts work, not seconds.
    deterministic: bool = Field(
        False,
        description="same fleet and seed, same plan, even when the time limit ends the search: time_limit_s counts "
        "CP-SAT's deterministic seconds (work; slower than the clock) and HiGHS does not race",
    )

    @field_validator("patterns")
    @classmethod
    def _patterns_choice(cls, value: Any) -> Any:
        if value is True or value is False or value == "auto":
            return value
        raise ValueError("patterns must be true, false or auto")

    def pattern_search(self, workloads: int) -> str:
        """Where the replica-pattern search runs for a fleet of `workloads` workloads (one of
        PATTERN_SEARCHES)."""
        if self.patterns == "auto":
            if workloads >= PATTERNS_AUTO_MIN_WORKLOADS:
                return PATTERNS_IN_HIGHS
            return PATTERNS_IN_CP_SAT if workloads >= PATTERNS_IN_CP_SAT_MIN_WORKLOADS else PATTERNS_OFF
        return PATTERNS_IN_HIGHS if self.patterns else PATTERNS_OFF


class Fleet(StrictModel):
    version: Literal[1] = Field(description="fleet file format version; 1")
    name: str
    gpus: dict[str, GpuDefinition] = Field(default_factory=dict)
    node_types: dict[str, NodeType] = Field(min_length=1)
    nodes: list[Node] = Field(default_factory=list)
    market: dict[str, MarketOffer] = Field(default_factory=dict)
    workloads: list[Workload] = Field(min_length=1)
    profiles: list[ProfileEntry] = Field(default_factory=list)
    objective: Objective = Field(default_factory=Objective)
    solver: SolverSettings = Field(default_factory=SolverSettings)

    @field_validator("name")
    @classmethod
    def _nonempty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be empty")
        return value

    def workload(self, name: str) -> Workload:
        for w in self.workloads:
            if w.name == name:
                return w
        raise KeyError(name)
