"""The answer of the performance model for one workload on one resource."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Source = Literal["estimate", "measured"]

# What bounds a replica's throughput (or why it cannot run):
#   memory       the batch is as large as memory allows (KV cache / activations full)
#   bandwidth    a decode step is bound by reading weights and KV cache
#   compute      FLOP-bound (prefill, compute-bound decode, diffusion, speech)
#   slo          a latency SLO (ttft_ms, tpot_ms, latency_ms) caps the batch, or cannot be met
#   precision    the GPU has no native path for the precision and no fallback is allowed
#   no-capacity  a generic workload with no capacity given for this resource
#   unsupported  the resource cannot run this kind of workload at all (or is unknown)
#   unit         the target unit makes no sense for this kind of model
#   measured     a measured number (fleet `profiles:` or a generic workload's `capacity:`)
LIMITS: tuple[str, ...] = (
    "memory",
    "bandwidth",
    "compute",
    "slo",
    "precision",
    "no-capacity",
    "unsupported",
    "unit",
    "measured",
)


class Estimate(BaseModel):
    """Memory and throughput of one replica of a workload on one resource.

    memory_gb and memory_available_gb are GiB (2**30 bytes) per GPU, the unit of the catalog's
    MIG profile memory. memory_gb is the device memory the replica takes: its footprint (weights,
    runtime, activations, KV cache or per-stream state of the chosen batch) with the engine's
    10 % headroom, i.e. footprint / 0.9; it fits when memory_gb <= memory_available_gb.
    For a tensor-parallel resource, memory is per GPU and throughput is the whole group's.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: str
    resource: str
    fits: bool
    throughput: float | None
    unit: str
    batch: int | None
    memory_gb: float | None
    memory_available_gb: float
    source: Source
    limit: str
    reason: str | None = None
    note: str | None = None  # extra context when it fits (precision fallback, measured vs estimate, ...)
