"""What one replica gets from a resource: memory per GPU, compute and bandwidth shares, and the
precision it runs at. Resource strings are syntax (planner/resources.py); this resolves them
against the catalog."""

from __future__ import annotations

from dataclasses import dataclass

from planner.catalog import Catalog, Gpu, UnknownGpu
from planner.perf import efficiency as eff
from planner.resources import Resource

# Precisions whose compute runs on a native tensor path of their own.
_NATIVE_COMPUTE = ("bf16", "fp16", "fp8", "int8", "fp4")


class Unsupported(Exception):
    """The resource cannot run the workload at all; str() says why, in a user's words."""

    def __init__(self, reason: str, limit: str = "unsupported"):
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


@dataclass(frozen=True)
class Hardware:
    """One replica's share of hardware. Rates are per GPU; `n_gpus` GPUs work in lock-step."""

    gpu: Gpu
    resource: Resource
    n_gpus: int  # GPUs one replica spans: tp size, else 1
    sm_share: float  # of one GPU's SMs
    bw_share: float  # of one GPU's memory bandwidth
    efficiency: float  # MIG slice efficiency; 1 for whole GPUs
    memory_gib: float  # visible memory per GPU (MIG: the profile's usable GiB)
    where: str  # "3g.40gb" or the GPU's name, for messages

    @property
    def is_mig(self) -> bool:
        return self.resource.kind == "mig"

    def flops(self, key: str) -> float:
        """Peak FLOP/s per GPU of this share at compute precision `key` (before MFU)."""
        rate = self.gpu.tflops.get(key)
        if rate is None:  # fp32 without a listed rate and the like: half the 16-bit tensor rate
            rate = (self.gpu.tflops.get("bf16") or self.gpu.tflops.get("fp16") or 0.0) / 2
        return rate * 1e12 * self.sm_share * self.efficiency

    @property
    def bandwidth(self) -> float:
        """Memory bandwidth per GPU of this share, bytes/s (before MBU)."""
        return self.gpu.bandwidth_tbps * 1e12 * self.bw_share * self.efficiency

    @property
    def allreduce_bytes_per_s(self) -> float:
        if self.gpu.nvlink_gbps > 0:
            return self.gpu.nvlink_gbps * 1e9 * eff.ALLREDUCE_BUS_FRACTION
        return eff.PCIE_ALLREDUCE_GBPS * 1e9


def visible_memory_gib(gpu: Gpu) -> float:
    """Memory a whole GPU shows to a process, GiB.

    A MIG-capable GPU: its full-size profile's usable GiB, read off hardware (H100: 79.25), when
    it agrees with the datasheet size; otherwise datasheet GB × VISIBLE_MEMORY_FRACTION.
    """
    if gpu.mig is not None:
        full = [p for p in gpu.mig.profiles if p.slots == gpu.mig.slots]
        if full:
            gib = max(p.memory_gib for p in full)
            if 0.95 * gpu.memory_gb <= gib <= gpu.memory_gb:
                return gib
    return gpu.memory_gb * eff.VISIBLE_MEMORY_FRACTION


def hardware(catalog: Catalog, resource: Resource) -> Hardware:
    """Resolve a resource against the catalog; Unsupported when it names nothing real."""
    try:
        gpu = catalog.gpu(resource.gpu)
    except UnknownGpu as exc:
        raise Unsupported(str(exc)) from None
    if resource.kind == "mig":
        if gpu.mig is None:
            raise Unsupported(f"{gpu.name} has no MIG; use the whole GPU ({gpu.name})")
        try:
            profile = gpu.mig.profile(resource.profile or "")
        except KeyError:
            raise Unsupported(
                f"{gpu.name} has no MIG profile {resource.profile}; its profiles: {', '.join(gpu.mig.names)}"
            ) from None
        return Hardware(
            gpu=gpu,
            resource=resource,
            n_gpus=1,
            sm_share=profile.sms / gpu.sms,
            bw_share=profile.slots / gpu.mig.slots,
            efficiency=eff.MIG_SLICE_EFFICIENCY,
            memory_gib=profile.memory_gib,
            where=profile.name,
        )
    n = resource.gpus if resource.kind == "tp" else 1
    where = f"{gpu.name}/tp{n}" if n > 1 else gpu.name
    return Hardware(gpu, resource, n, 1.0, 1.0, 1.0, visible_memory_gib(gpu), where)


@dataclass(frozen=True)
class PrecisionPlan:
    """How a workload's precision runs on a GPU."""

    weights: str  # precision of the stored weights (BYTES_PER_PARAM key)
    compute: str  # tensor rate used (Gpu.tflops key)
    note: str | None = None  # set when falling back


def plan_precision(gpu: Gpu, precision: str, fallback: bool) -> PrecisionPlan:
    """Native precision, or bf16 when allowed; Unsupported(limit="precision") otherwise.

    INT4 is weight-only (AWQ/GPTQ kernels): 4-bit weights, 16-bit compute, on any GPU.
    FP32 runs on the TF32 tensor rate where the GPU lists one.
    """
    if precision == "int4":
        return PrecisionPlan("int4", "bf16" if gpu.supports_precision("bf16") else "fp16")
    if precision == "fp32":
        return PrecisionPlan("fp32", "tf32" if gpu.supports_precision("tf32") else "fp32")
    if precision in _NATIVE_COMPUTE and gpu.supports_precision(precision):
        return PrecisionPlan(precision, precision)
    arch = f" ({gpu.architecture.capitalize()})" if gpu.architecture else ""
    if fallback:
        to = "bf16" if gpu.supports_precision("bf16") else "fp16"
        return PrecisionPlan(to, to, f"{precision.upper()} is not native on {gpu.name}{arch}: runs at {to} (precision_fallback)")
    raise Unsupported(
        f"{precision.upper()} is not native on {gpu.name}{arch}; set precision_fallback: true to run at bf16, or use another GPU",
        limit="precision",
    )
