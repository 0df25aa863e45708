"""Speech (ASR and TTS) by real-time factor and stream batching (perf.md §5).

    speed s       = √(compute ratio × bandwidth ratio) of the resource vs the speech reference GPU
    A(c)          = s / rtf × c × (1 + K) / (c + K)     audio seconds per second with c streams
    per stream    = A(c) / c                            (≥ 1 to keep a stream at real time)

The replica runs the most streams c (up to the preset's max_streams) that fit memory, keep every
stream at real time when the target is realtime_streams, and process one second of audio within
slo.latency_ms when one is given. Throughput: realtime_streams = c; audio_seconds_per_s = A(c).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from planner.catalog.models import ModelPreset
from planner.perf import efficiency as eff
from planner.perf.hardware import Hardware
from planner.perf.memory import device_need_gib, speech_footprint_gib


@dataclass(frozen=True)
class SpeechResult:
    fits: bool
    limit: str
    reason: str | None
    streams: int | None
    audio_seconds_per_s: float | None
    memory_gib: float
    speed_per_stream: float | None = None  # audio seconds per second for each stream


class SpeechModel:
    def __init__(self, model: ModelPreset, hw: Hardware, compute_precision: str):
        assert model.rtf is not None
        self.model = model
        self.hw = hw
        compute = hw.flops(compute_precision) / (eff.SPEECH_REF_TFLOPS * 1e12)
        bandwidth = hw.bandwidth / (eff.SPEECH_REF_BANDWIDTH_TBPS * 1e12)
        self.speed = math.sqrt(compute * bandwidth)
        self.k = eff.SPEECH_BATCH_K[model.kind]

    def aggregate(self, streams: int) -> float:
        return self.speed / self.model.rtf * streams * (1 + self.k) / (streams + self.k)  # type: ignore[operator]

    def per_stream(self, streams: int) -> float:
        return self.aggregate(streams) / streams

    def memory_gib(self, streams: int) -> float:
        return device_need_gib(speech_footprint_gib(self.model, streams))


def _most_streams(sm: SpeechModel, speed_needed: float) -> int:
    """Most streams c with per_stream(c) >= speed_needed: c <= s/rtf × (1 + K) / speed_needed - K."""
    return math.floor(sm.speed / sm.model.rtf * (1 + sm.k) / speed_needed - sm.k + 1e-9)  # type: ignore[operator]


def estimate_speech(model: ModelPreset, hw: Hardware, compute_precision: str, realtime: bool, latency_ms: float | None) -> SpeechResult:
    sm = SpeechModel(model, hw, compute_precision)
    one = sm.memory_gib(1)
    if one > hw.memory_gib:
        return SpeechResult(False, "memory", f"needs {one:.1f} GiB, {hw.memory_gib:.2f} GiB usable on {hw.where}", None, None, one)
    cap = model.max_streams or 1
    per = model.memory_per_stream_gb or 0.0
    c_mem = cap
    if per > 0:
        room = hw.memory_gib * eff.MEMORY_UTILIZATION - speech_footprint_gib(model, 1)
        c_mem = min(cap, 1 + int(room // per))
    # Each bound on the streams, with the limit it stands for; the smallest wins (first on ties).
    bounds: list[tuple[int, str]] = [(cap, "compute"), (c_mem, "memory")]
    if latency_ms is not None:
        c_slo = _most_streams(sm, 1000.0 / latency_ms)
        if c_slo < 1:
            return SpeechResult(
                False, "slo",
                f"one second of audio takes {1000.0 / sm.per_stream(1):,.0f} ms on {hw.where}, over the {latency_ms:g} ms SLO",
                None, None, one, sm.per_stream(1),
            )
        bounds.append((c_slo, "slo"))
    if realtime:
        c_rt = _most_streams(sm, 1.0)
        if c_rt < 1:
            return SpeechResult(
                False, "compute",
                f"one stream runs at {math.floor(sm.per_stream(1) * 100) / 100:.2f}x real time on {hw.where}; it must reach 1x",
                None, None, one, sm.per_stream(1),
            )
        bounds.append((c_rt, "compute"))
    c = min(b for b, _ in bounds)
    limit = "compute" if c == cap else next(name for b, name in sorted(bounds[1:], key=lambda x: x[0]) if b == c)
    return SpeechResult(True, limit, None, c, sm.aggregate(c), sm.memory_gib(c), sm.per_stream(c))
