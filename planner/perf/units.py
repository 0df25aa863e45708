"""Which target units make sense for which kind of workload (data the spec validator reads)."""

from __future__ import annotations

from planner.spec.models import TARGET_UNITS

VALID_UNITS: dict[str, tuple[str, ...]] = {
    "llm": ("output_tokens_per_s", "requests_per_s"),
    "diffusion": ("images_per_s",),
    "video": ("videos_per_hour",),
    "asr": ("audio_seconds_per_s", "realtime_streams"),
    "tts": ("realtime_streams", "audio_seconds_per_s"),
    "generic": tuple(TARGET_UNITS),
}

UNIT_DESCRIPTIONS: dict[str, str] = {
    "output_tokens_per_s": "generated tokens per second, all requests together",
    "requests_per_s": "completed requests per second (through tokens.output)",
    "images_per_s": "images per second",
    "videos_per_hour": "finished clips per hour",
    "audio_seconds_per_s": "seconds of audio processed per second",
    "realtime_streams": "concurrent streams each kept at real time (or its latency SLO)",
}


def valid_units(kind: str) -> tuple[str, ...]:
    """Target units that make sense for a workload kind; () for an unknown kind."""
    return VALID_UNITS.get(kind, ())


def unit_problem(kind: str, unit: str) -> str | None:
    """A sentence saying why `unit` makes no sense for `kind`, or None when it does."""
    units = valid_units(kind)
    if unit in units:
        return None
    article = "an" if kind in ("llm", "asr") else "a"
    return f"{unit} makes no sense for {article} {kind} model; use {' or '.join(units)}"
