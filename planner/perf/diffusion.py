"""Image and video diffusion: compute-bound, FLOPs per step × steps, batching (perf.md §5).

    tokens         = (width/16) × (height/16) × latent frames      (8× VAE, 2×2 patches; video: 4× in time)
    r              = tokens / tokens at the preset's reference size
    FLOPs per pass = tflop_per_pass × ((1 - a) × r + a × r²)         a = attention_fraction
    passes         = steps × (2 with classifier-free guidance, else 1)
    time(batch)    = batch × (passes × FLOPs per pass + VAE decode) / (peak × u(fill))
    fill           = batch × guidance passes × tokens / 4096 per 100 SMs of the resource
    u(fill)        = U_MAX × fill / (fill + K)                       (planner/perf/efficiency.py)

The batch is the largest (up to the kind's cap) that fits memory and finishes within
slo.latency_ms; throughput = batch / time(batch).
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.catalog.models import ModelPreset
from planner.perf import efficiency as eff
from planner.perf.hardware import Hardware
from planner.perf.memory import device_need_gib, diffusion_footprint_gib


@dataclass(frozen=True)
class OutputSize:
    width: int
    height: int
    frames: int  # 1 for an image
    steps: int

    def tokens(self) -> float:
        latent_frames = 1 if self.frames <= 1 else (self.frames - 1) // 4 + 1
        return (self.width / 16) * (self.height / 16) * latent_frames


def reference_size(model: ModelPreset) -> OutputSize:
    assert model.ref_width and model.ref_height and model.default_steps
    return OutputSize(model.ref_width, model.ref_height, model.ref_frames or 1, model.default_steps)


def requested_size(model: ModelPreset, spec) -> OutputSize:
    """The workload's image/video spec; fields it leaves out take the preset's reference."""
    ref = reference_size(model)
    if spec is None:
        return ref
    given = spec.model_fields_set
    width = spec.width if "width" in given else ref.width
    height = spec.height if "height" in given else ref.height
    steps = spec.steps if spec.steps is not None else ref.steps
    frames = ref.frames
    if model.kind == "video" and hasattr(spec, "fps") and ({"seconds", "fps"} & given):
        ref_fps = model.ref_fps or 16
        fps = spec.fps if "fps" in given else ref_fps
        seconds = spec.seconds if "seconds" in given else (ref.frames - 1) / ref_fps
        frames = max(1, round(seconds * fps)) + 1
    return OutputSize(width, height, frames, steps)


@dataclass(frozen=True)
class DiffusionResult:
    fits: bool
    limit: str
    reason: str | None
    batch: int | None
    outputs_per_s: float | None
    memory_gib: float
    seconds_per_batch: float | None = None


class DiffusionModel:
    def __init__(self, model: ModelPreset, hw: Hardware, weights_precision: str, compute_precision: str, size: OutputSize):
        assert model.tflop_per_pass is not None
        self.model = model
        self.hw = hw
        self.size = size
        self.weights_precision = weights_precision
        ref = reference_size(model)
        self.r = size.tokens() / ref.tokens()
        a = model.attention_fraction or 0.0
        pixel_ratio = (size.width * size.height * size.frames) / (ref.width * ref.height * ref.frames)
        self.guidance = 2 if model.cfg else 1
        pass_tflop = model.tflop_per_pass * ((1 - a) * self.r + a * self.r * self.r)
        self.tflop_per_output = size.steps * self.guidance * pass_tflop + (model.decode_tflop or 0.0) * pixel_ratio
        self.peak = hw.flops(compute_precision)
        self.sms = hw.gpu.sms * hw.sm_share
        self.u_max = eff.DIFFUSION_U_MAX[model.kind]

    def utilisation(self, batch: int) -> float:
        fill = batch * self.guidance * self.size.tokens() / eff.DIFFUSION_TOKENS_PER_UNIT * 100 / self.sms
        return self.u_max * fill / (fill + eff.DIFFUSION_FILL_K)

    def seconds(self, batch: int) -> float:
        return batch * self.tflop_per_output * 1e12 / (self.peak * self.utilisation(batch))

    def memory_gib(self, batch: int) -> float:
        return device_need_gib(diffusion_footprint_gib(self.model, self.weights_precision, batch, self.r))


def estimate_diffusion(
    model: ModelPreset,
    hw: Hardware,
    weights_precision: str,
    compute_precision: str,
    size: OutputSize,
    latency_ms: float | None,
) -> DiffusionResult:
    dm = DiffusionModel(model, hw, weights_precision, compute_precision, size)
    what = "image" if model.kind == "diffusion" else "clip"
    one = dm.memory_gib(1)
    if one > hw.memory_gib:
        return DiffusionResult(False, "memory", f"needs {one:.1f} GiB, {hw.memory_gib:.2f} GiB usable on {hw.where}", None, None, one)
    cap = eff.DIFFUSION_MAX_BATCH[model.kind]
    b_mem = cap
    while b_mem > 1 and dm.memory_gib(b_mem) > hw.memory_gib:
        b_mem -= 1
    batch = b_mem
    if latency_ms is not None:
        while batch >= 1 and dm.seconds(batch) * 1e3 > latency_ms:
            batch -= 1
        if batch < 1:
            t = dm.seconds(1)
            return DiffusionResult(
                False, "slo",
                f"one {what} takes {t * 1e3:,.0f} ms on {hw.where}, over the {latency_ms:g} ms latency SLO",
                None, None, one, t,
            )
    limit = "slo" if batch < b_mem else ("memory" if b_mem < cap else "compute")
    t = dm.seconds(batch)
    return DiffusionResult(True, limit, None, batch, batch / t, dm.memory_gib(batch), t)


__all__ = ["DiffusionModel", "DiffusionResult", "OutputSize", "estimate_diffusion", "reference_size", "requested_size"]
