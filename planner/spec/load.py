"""Load a fleet file: YAML → pydantic → cross-field checks → `LoadedFleet`, or one InputError
listing every problem found."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from pydantic import ValidationError

from planner.catalog import Catalog, load_catalog
from planner.errors import InputError, Problem
from planner.spec.errors import problems_from_validation
from planner.spec.models import Fleet
from planner.spec.validate import InventoryNode, check_fleet
from planner.yamlio import Document, parse_yaml, read_text


@dataclass
class LoadedFleet:
    """A valid fleet: canonical GPU names, the catalog it plans against, today's inventory."""

    fleet: Fleet
    catalog: Catalog
    inventory: list[InventoryNode]
    file: str
    sha256: str  # of the file's text: plans record it so exports notice a changed fleet
    document: Document


# Sections whose entries are checked on their own; for list sections, the key whose name other
# entries may refer to (profiles refer to a workload; a generic workload may rely on profiles).
_ENTRY_SECTIONS = {
    "gpus": None,
    "node_types": None,
    "market": None,
    "nodes": "name",
    "workloads": "name",
    "profiles": "workload",
}
_PLACEHOLDERS = {"version": 1, "name": "-"}  # required, but no cross-field check reads them


def _without_failed_entries(
    data: dict, exc: ValidationError
) -> tuple[Fleet, dict[str, list[int]], dict[str, set[str]]] | None:
    """The fleet that passes the schema once every entry with an error is set aside, with where the
    kept list entries sit in the file and the names the set-aside entries used (see
    `validate.Checker`); None when a whole section is unusable and nothing more can be said."""
    data = dict(data)
    failed: dict[str, set] = {}
    for err in exc.errors():
        loc = err["loc"]
        if not loc:
            return None
        section = loc[0]
        if section in _ENTRY_SECTIONS and len(loc) >= 2:
            failed.setdefault(section, set()).add(loc[1])
        elif section in _PLACEHOLDERS:
            data[section] = _PLACEHOLDERS[section]
        elif section in ("objective", "solver") or section not in Fleet.model_fields:
            data.pop(section, None)  # their defaults; an unknown key is already reported
        else:
            return None  # a section that is missing or of the wrong type
    positions: dict[str, list[int]] = {}
    set_aside: dict[str, set[str]] = {}
    for section, keys in failed.items():
        entries = data[section]
        if isinstance(entries, dict):
            data[section] = {k: v for k, v in entries.items() if k not in keys}
            set_aside[section] = {str(k) for k in keys}
        else:
            positions[section] = [i for i in range(len(entries)) if i not in keys]
            data[section] = [entries[i] for i in positions[section]]
            names = [entries[i].get(_ENTRY_SECTIONS[section]) for i in keys if isinstance(entries[i], dict)]
            set_aside[section] = {n for n in names if isinstance(n, str)}
    try:
        return Fleet.model_validate(data), positions, set_aside
    except ValidationError:  # e.g. every workload failed: `workloads` is now empty
        return None


def parse_fleet(text: str, file: str = "<fleet>") -> LoadedFleet:
    doc = parse_yaml(text, file)
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a single value ({doc.data!r:.40})"
        raise InputError(
            [Problem(f"the top level is {kind}, not a mapping", "", 1, "a fleet file starts with 'version: 1'", file)]
        )
    if "fleet_sha256" in doc.data and "node_types" not in doc.data:
        named = doc.data.get("fleet_file")
        source = f": {named}" if isinstance(named, str) and named else ""
        raise InputError(
            [
                Problem(
                    "this is a plan file (written by `mig-plan solve`), not a fleet file",
                    "",
                    1,
                    f"pass the fleet file the plan was solved from{source}",
                    file,
                )
            ]
        )
    try:
        fleet = Fleet.model_validate(doc.data)
    except ValidationError as exc:
        problems = problems_from_validation(exc, Fleet, doc)
        rest = _without_failed_entries(doc.data, exc)
        if rest is not None:  # also report what the cross-field checks find in the entries that passed
            problems += check_fleet(rest[0], load_catalog(), doc, rest[1], rest[2])[3]
        raise InputError(problems)
    fleet, catalog, inventory, problems = check_fleet(fleet, load_catalog(), doc)
    if problems:
        raise InputError(problems)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadedFleet(fleet, catalog, inventory, file, digest, doc)


def load_fleet(path: str | os.PathLike) -> LoadedFleet:
    """Read and check a fleet file; raises InputError naming the file, YAML path and line."""
    return parse_fleet(read_text(path), str(path))
