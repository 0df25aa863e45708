"""Stable, label-safe names for node layouts (mig-parted config names, nvidia.com/mig.config).

Label values are at most 63 characters of [A-Za-z0-9-_.] (reference/mig.md §5): profiles are
abbreviated (`3g.40gb` → `3g40`, `+me` → `me`), and a name that would still be too long ends in
a hash of the full layout, so equal layouts always get equal names.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

LABEL_MAX = 63
_LABEL_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS1123_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
OFF = "off"  # a GPU with MIG disabled (whole GPU, tensor-parallel member, or idle)


def is_label_value(text: str) -> bool:
    return len(text) <= LABEL_MAX and bool(_LABEL_RE.match(text))


def is_dns1123_label(text: str) -> bool:
    """A DNS-1123 label (Kubernetes object names): at most 63 of [a-z0-9-], alphanumeric ends."""
    return len(text) <= 63 and bool(_DNS1123_LABEL_RE.match(text))


def is_dns1123_subdomain(text: str) -> bool:
    """A DNS-1123 subdomain (Node names, label key prefixes): dot-separated labels, at most 253."""
    return 0 < len(text) <= 253 and all(is_dns1123_label(part) for part in text.split("."))


def node_name_stem(text: str, room: int) -> str:
    """A DNS-1123 label made from any text (a node type's key, for the names of nodes still to be
    bought), at most `room` characters: lower case, other characters as '-', 'node' if none."""
    stem = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:room].rstrip("-")
    return stem or "node"


def short_profile(profile: str) -> str:
    base, _, suffix = profile.partition("+")
    short = base.replace(".", "").removesuffix("gb")
    return short + (suffix.replace(".", "") if suffix else "")


def gpu_layout_token(profiles: list[str] | None) -> str:
    """One GPU: 'off', or its profiles largest first with counts, e.g. '3g40-2g20-1g10x2'."""
    if profiles is None:
        return OFF
    if not profiles:
        return "empty"
    counts = Counter(profiles)
    ordered = sorted(counts, key=lambda p: (-int(p.split("g")[0]), p))
    return "-".join(short_profile(p) + (f"x{counts[p]}" if counts[p] > 1 else "") for p in ordered)


def node_config_name(per_gpu: list[list[str] | None]) -> str:
    """The config name of a node, from each GPU's profiles (None = MIG disabled)."""
    tokens = [gpu_layout_token(p) for p in per_gpu]
    if all(t == OFF for t in tokens):
        return "all-disabled"
    if len(set(tokens)) == 1:
        name = "mp-" + tokens[0]
    else:
        # Runs of equal GPUs, in index order: mp-3g40x2.4_off.4 means GPUs 0-3 '3g40x2', 4-7 off.
        runs: list[list] = []
        for t in tokens:
            if runs and runs[-1][0] == t:
                runs[-1][1] += 1
            else:
                runs.append([t, 1])
        name = "mp-" + "_".join(f"{t}.{n}" for t, n in runs)
    if not is_label_value(name):
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        name = name[: LABEL_MAX - len(digest) - 1].rstrip("-_.") + "-" + digest
    return name
