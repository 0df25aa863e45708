"""What the operator-facing emitters share: Kubernetes name and label syntax, the plan's revision,
and the error an emitter raises when a plan cannot be exported as it stands.

Syntax rules are those of reference/mig.md §5 (the Kubernetes apimachinery validation):
label values ≤ 63 characters of `(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?`; label keys an
optional DNS-subdomain prefix (≤ 253) + `/` + a name of the value syntax (1..63); object names
DNS-1123 labels (≤ 63, lowercase alphanumerics and '-').
"""

from __future__ import annotations

import hashlib
import json
import re

from planner.naming import is_label_value
from planner.plan import Plan

LABEL_PREFIX = "mig-plan.io/"
MIG_CONFIG_LABEL = "nvidia.com/mig.config"

_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class ExportError(Exception):
    """A plan that cannot be exported as it stands (hand-edited, or a bug in the planner).

    `where` is the place in the plan file (`nodes[1].gpus[3]`); the CLI reports it against the file.
    """

    def __init__(self, message: str, where: str = "", hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint


# --------------------------------------------------------------------------- syntax


def is_dns1123_label(text: str) -> bool:
    return len(text) <= 63 and bool(_DNS1123_LABEL_RE.match(text))


def is_dns1123_subdomain(text: str) -> bool:
    return 0 < len(text) <= 253 and all(is_dns1123_label(part) for part in text.split("."))


def is_label_key(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and not is_dns1123_subdomain(prefix):
        return False
    return 0 < len(name) <= 63 and bool(_NAME_RE.match(name))


def label_safe(text: str) -> str:
    """A label value standing for `text`: itself when valid; otherwise invalid characters become
    '-', the ends are trimmed to alphanumerics, and a value still too long (or changed) ends in a
    short hash of the original, so different texts keep different values."""
    if is_label_value(text):
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-_.")
    cleaned = cleaned[: 63 - len(digest) - 1].rstrip("-_.")
    return f"{cleaned}-{digest}" if cleaned else digest


def dns_label(text: str, limit: int = 63) -> str:
    """A DNS-1123 label standing for `text` (lowercased, other characters as '-'), at most
    `limit` characters; a shortened or changed name ends in a hash of the original."""
    lowered = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if lowered == text and len(text) <= limit:
        return text
    if len(lowered) <= limit and lowered:
        return lowered
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    head = lowered[: limit - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}" if head else digest


# --------------------------------------------------------------------------- plan identity


def plan_revision(plan: Plan) -> str:
    """First 12 hex digits of the sha256 of the plan's canonical JSON, leaving out what does not
    change the plan: `solver.seconds` (wall time) and `fleet_file` (the path it was given as).
    Equal plans get equal revisions on any machine and from any working directory."""
    data = plan.to_data()
    data.pop("fleet_file", None)
    data.get("solver", {}).pop("seconds", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def plan_label(plan: Plan) -> str:
    """The value of `mig-plan.io/plan`: the fleet's name, label-safe."""
    return label_safe(plan.fleet)


def mig_resource(profile: str) -> str:
    """The device plugin's resource for a MIG profile under the mixed strategy (reference/mig.md
    §5): `nvidia.com/mig-3g.40gb`, `+` written `.` (`nvidia.com/mig-1g.10gb.me`)."""
    return "nvidia.com/mig-" + profile.replace("+", ".")
