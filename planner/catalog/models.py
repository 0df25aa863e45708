"""Model presets: the architectures the performance model needs, by name.

One strict schema, `ModelPreset`, validates both the built-in presets (data/models.yaml, each
entry citing its source) and an inline architecture written in a fleet file as
`model: {kind: llm, params_b: 8, layers: 32, ...}`. Which fields a model needs depends on its
kind:

- llm: parameters (total and active), layers, hidden size, attention heads, KV heads, head
  dimension (KV cache and attention FLOPs), experts (MoE), MLA latent sizes (DeepSeek).
- diffusion / video: denoiser FLOPs per pass at a reference resolution (and frame count), how
  much of that is attention (the part that grows with the square of the tokens), guidance,
  default steps, VAE decode FLOPs, parameters held in memory, activation memory at reference.
- tts / asr: memory footprint, extra memory per concurrent stream, real-time factor on the
  reference GPU (planner/perf/efficiency.py), engine concurrency cap.

Units: parameters in billions, FLOPs in TFLOP (1e12), memory in GiB (2**30 bytes).
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ModelKind = Literal["llm", "diffusion", "video", "tts", "asr"]
MODEL_KINDS: tuple[str, ...] = ("llm", "diffusion", "video", "tts", "asr")
MODELS_FILE = "models.yaml"

# Fields that only make sense for some kinds; every other kind must leave them out.
LLM_FIELDS = (
    "active_params_b",
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "head_dim",
    "vocab",
    "max_context",
    "experts",
    "experts_per_token",
    "kv_lora_rank",
    "qk_rope_head_dim",
)
IMAGE_FIELDS = (
    "extra_params_b",
    "tflop_per_pass",
    "attention_fraction",
    "cfg",
    "default_steps",
    "ref_width",
    "ref_height",
    "decode_tflop",
    "activation_gb",
)
VIDEO_ONLY_FIELDS = ("ref_frames", "ref_fps")
SPEECH_FIELDS = ("memory_gb", "memory_per_stream_gb", "rtf", "max_streams")

REQUIRED: dict[str, tuple[str, ...]] = {
    "llm": ("params_b", "layers", "hidden", "heads"),
    "diffusion": ("params_b", "tflop_per_pass", "default_steps", "ref_width", "ref_height", "activation_gb"),
    "video": ("params_b", "tflop_per_pass", "default_steps", "ref_width", "ref_height", "ref_frames", "ref_fps", "activation_gb"),
    "tts": ("params_b", "memory_gb", "rtf"),
    "asr": ("params_b", "memory_gb", "rtf"),
}
ALLOWED: dict[str, frozenset[str]] = {
    "llm": frozenset(LLM_FIELDS),
    "diffusion": frozenset(IMAGE_FIELDS),
    "video": frozenset(IMAGE_FIELDS + VIDEO_ONLY_FIELDS),
    "tts": frozenset(SPEECH_FIELDS),
    "asr": frozenset(SPEECH_FIELDS),
}
COMMON_FIELDS = frozenset({"kind", "name", "aliases", "description", "source", "params_b"})


class ModelPreset(BaseModel):
    """A model architecture, as far as memory and throughput estimates need it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    kind: ModelKind
    name: str | None = Field(None, description="preset name (set from the catalog key)")
    aliases: tuple[str, ...] = Field((), description="other spellings, e.g. the Hugging Face id")
    description: str | None = None
    source: str = Field("inline", description="where the figures come from")
    params_b: float = Field(gt=0, le=100_000, description="parameters of the main network, billions (MoE: all experts)")

    # ---- llm
    active_params_b: float | None = Field(None, gt=0, le=100_000, description="MoE: parameters used per token")
    layers: int | None = Field(None, ge=1, le=1_000)
    hidden: int | None = Field(None, ge=1, le=1_000_000)
    heads: int | None = Field(None, ge=1, le=10_000, description="query heads")
    kv_heads: int | None = Field(None, ge=1, le=10_000, description="key/value heads (GQA); default: heads")
    head_dim: int | None = Field(None, ge=1, le=100_000, description="default: hidden / heads")
    vocab: int | None = Field(None, ge=1, le=10_000_000)
    max_context: int | None = Field(None, ge=1, le=100_000_000)
    experts: int | None = Field(None, ge=2, le=100_000, description="MoE: routed experts per layer")
    experts_per_token: int | None = Field(None, ge=1, le=100_000, description="MoE: routed experts active per token")
    kv_lora_rank: int | None = Field(None, ge=1, le=100_000, description="MLA: latent KV size cached per token and layer")
    qk_rope_head_dim: int | None = Field(None, ge=0, le=100_000, description="MLA: decoupled RoPE key size cached per token and layer")

    # ---- diffusion / video
    extra_params_b: float | None = Field(None, ge=0, le=100_000, description="text encoders + VAE held in memory, billions")
    tflop_per_pass: float | None = Field(None, gt=0, le=1e9, description="denoiser FLOPs of one forward pass at the reference size, TFLOP")
    attention_fraction: float | None = Field(None, ge=0, le=1, description="share of tflop_per_pass that grows with tokens squared")
    cfg: bool | None = Field(None, description="classifier-free guidance: two passes per step")
    default_steps: int | None = Field(None, ge=1, le=1_000)
    ref_width: int | None = Field(None, ge=1, le=100_000)
    ref_height: int | None = Field(None, ge=1, le=100_000)
    ref_frames: int | None = Field(None, ge=1, le=100_000, description="video: frames at the reference size")
    ref_fps: int | None = Field(None, ge=1, le=1_000, description="video: frame rate of the reference clip")
    decode_tflop: float | None = Field(None, ge=0, le=1e9, description="VAE decode of one output at the reference size, TFLOP")
    activation_gb: float | None = Field(None, ge=0, le=100_000, description="activation + workspace memory of one output at the reference size, GiB")

    # ---- tts / asr
    memory_gb: float | None = Field(None, gt=0, le=100_000, description="footprint of one replica serving one stream, GiB")
    memory_per_stream_gb: float | None = Field(None, ge=0, le=100_000, description="extra memory per concurrent stream, GiB")
    rtf: float | None = Field(None, gt=0, le=1_000, description="real-time factor of one stream on the reference GPU (compute s per audio s)")
    max_streams: int | None = Field(None, ge=1, le=1_000_000, description="streams one replica batches at most (engine limit)")

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases_list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _fields_for_kind(self) -> "ModelPreset":
        given = {k for k in self.model_fields_set if getattr(self, k) is not None}
        wrong = sorted(given - COMMON_FIELDS - ALLOWED[self.kind])
        if wrong:
            owners = []
            for f in wrong:
                kinds = [k for k in MODEL_KINDS if f in ALLOWED[k]]
                owners.append(f"'{f}' ({'/'.join(kinds)})")
            verb = "does" if len(wrong) == 1 else "do"
            raise ValueError(f"{', '.join(owners)} {verb} not apply to {_a(self.kind)} model; remove {'it' if len(wrong) == 1 else 'them'}")
        missing = [f for f in REQUIRED[self.kind] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"{_a(self.kind)} model needs {', '.join(missing)}")
        if self.kind == "llm":
            heads = self.heads or 1
            if self.kv_heads is not None and (self.kv_heads > heads or heads % self.kv_heads):
                raise ValueError(f"kv_heads ({self.kv_heads}) must divide heads ({heads})")
            if self.head_dim is None and (self.hidden or 0) % heads:
                raise ValueError(f"hidden ({self.hidden}) is not a multiple of heads ({heads}); give head_dim")
            if self.active_params_b is not None and self.active_params_b > self.params_b:
                raise ValueError(f"active_params_b ({self.active_params_b}) exceeds params_b ({self.params_b})")
            if (self.experts is None) != (self.experts_per_token is None):
                raise ValueError("give both experts and experts_per_token (MoE), or neither")
            if self.experts is not None and self.experts_per_token >= self.experts:  # type: ignore[operator]
                raise ValueError(f"experts_per_token ({self.experts_per_token}) must be below experts ({self.experts})")
            if self.experts is not None and self.active_params_b is None:
                raise ValueError("a MoE model (experts) needs active_params_b, the parameters used per token")
            if (self.kv_lora_rank is None) != (self.qk_rope_head_dim is None):
                raise ValueError("MLA needs both kv_lora_rank and qk_rope_head_dim")
        if self.kind in ("tts", "asr") and self.max_streams is None:
            object.__setattr__(self, "max_streams", 1)
        return self

    # ---------------------------------------------------------------- derived figures

    @property
    def active_b(self) -> float:
        """Parameters used per token, billions (the total for a dense model)."""
        return self.active_params_b if self.active_params_b is not None else self.params_b

    @property
    def is_moe(self) -> bool:
        return self.experts is not None

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank is not None

    @property
    def n_kv_heads(self) -> int:
        assert self.heads is not None
        return self.kv_heads if self.kv_heads is not None else self.heads

    @property
    def dim_head(self) -> int:
        if self.head_dim is not None:
            return self.head_dim
        assert self.hidden is not None and self.heads is not None
        return self.hidden // self.heads

    def kv_elements_per_token(self) -> int:
        """Values cached per token over all layers: 2·layers·kv_heads·head_dim (K and V), or
        layers·(kv_lora_rank + rope dim) for MLA (one latent per token and layer)."""
        assert self.layers is not None
        if self.is_mla:
            return self.layers * (self.kv_lora_rank + self.qk_rope_head_dim)  # type: ignore[operator]
        return 2 * self.layers * self.n_kv_heads * self.dim_head

    @property
    def label(self) -> str:
        return self.name or f"inline {self.kind} model"


# --------------------------------------------------------------------------- errors


class UnknownModel(KeyError):
    """A model name that is no preset. str() is a clean, user-facing message."""

    def __init__(self, name: str, suggestion: str | None = None, known: tuple[str, ...] = ()):
        self.name = name
        self.suggestion = suggestion
        self.known = known
        super().__init__(name)

    def __str__(self) -> str:  # KeyError would repr-quote the message
        if self.suggestion:
            return f"unknown model {self.name!r}; did you mean {self.suggestion!r}? (see `mig-plan catalog models`)"
        return f"unknown model {self.name!r}; known presets: {', '.join(self.known)}"


class ModelDataError(ValueError):
    """The built-in preset file is inconsistent."""


# --------------------------------------------------------------------------- loading


def normalize_model_name(name: str) -> str:
    """Case-insensitive; spaces, underscores and dots-between-words matched loosely."""
    return re.sub(r"[\s_]+", "-", name.strip().lower())


@functools.cache
def load_models() -> dict[str, ModelPreset]:
    """The built-in presets by name, in file order (read once)."""
    from planner.catalog.loader import read_data_file  # the catalog's strict (duplicate-key) YAML reader

    raw = read_data_file(MODELS_FILE)
    if not isinstance(raw, dict) or not isinstance(raw.get("models"), dict):
        raise ModelDataError(f"{MODELS_FILE}: expected a top-level 'models:' mapping")
    out: dict[str, ModelPreset] = {}
    for name, entry in raw["models"].items():
        if not isinstance(entry, dict):
            raise ModelDataError(f"{MODELS_FILE}: models.{name} must be a mapping")
        if "name" in entry:
            raise ModelDataError(f"{MODELS_FILE}: models.{name}: the name is the key; remove 'name'")
        if not str(entry.get("source", "")).strip() or entry.get("source") == "inline":
            raise ModelDataError(f"{MODELS_FILE}: models.{name} must cite its source")
        try:
            out[name] = ModelPreset.model_validate({**entry, "name": name})
        except ValidationError as exc:
            raise ModelDataError(f"{MODELS_FILE}: models.{name}: {_first_error(exc)}") from None
    _index(out)  # alias collisions fail here, at load time
    return out


@functools.cache
def _index_cached() -> dict[str, str]:
    return _index(load_models())


def _index(models: dict[str, ModelPreset]) -> dict[str, str]:
    index: dict[str, str] = {}
    for name, preset in models.items():
        for spelling in (name, *preset.aliases):
            key = normalize_model_name(spelling)
            if index.get(key, name) != name:
                raise ModelDataError(f"{MODELS_FILE}: {spelling!r} names both {index[key]} and {name}")
            index[key] = name
    return index


def _a(kind: str) -> str:
    return f"an {kind}" if kind in ("llm", "asr") else f"a {kind}"


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
    if err.get("type") == "extra_forbidden":
        close = difflib.get_close_matches(loc, list(ModelPreset.model_fields), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(ModelPreset.model_fields)}"
        return f"unknown field {loc!r}{hint}"
    msg = err.get("msg", "invalid").removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def resolve_model(value: str | dict[str, Any], kind: str | None = None) -> ModelPreset:
    """A preset by name (case-insensitive, aliases allowed), or an inline architecture.

    Unknown names raise UnknownModel (a KeyError whose str() suggests the closest preset); a bad
    inline mapping raises ValueError naming the field. `kind` (the workload's explicit kind) is
    used when an inline mapping leaves `kind` out.
    """
    if isinstance(value, ModelPreset):
        return value
    if isinstance(value, str):
        index = _index_cached()
        key = normalize_model_name(value)
        found = index.get(key)
        if found is not None:
            return load_models()[found]
        close = difflib.get_close_matches(key, list(index), n=1, cutoff=0.6)
        suggestion = None
        if close:
            target = index[close[0]]
            suggestion = target
        raise UnknownModel(value, suggestion, tuple(load_models()))
    if isinstance(value, dict):
        data = dict(value)
        if "kind" not in data and kind in MODEL_KINDS:
            data["kind"] = kind
        if "kind" not in data:
            raise ValueError(f"an inline model needs 'kind', one of: {', '.join(MODEL_KINDS)}")
        try:
            return ModelPreset.model_validate(data)
        except ValidationError as exc:
            raise ValueError(f"inline model: {_first_error(exc)}") from None
    raise ValueError("model is a preset name (see `mig-plan catalog models`) or a mapping describing the architecture")
