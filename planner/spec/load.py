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


def parse_fleet(text: str, file: str = "<fleet>") -> LoadedFleet:
    doc = parse_yaml(text, file)
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a single value ({doc.data!r:.40})"
        raise InputError(
            [Problem(f"the top level is {kind}, not a mapping", "", 1, "a fleet file starts with 'version: 1'", file)]
        )
    try:
        fleet = Fleet.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, Fleet, doc))
    fleet, catalog, inventory, problems = check_fleet(fleet, load_catalog(), doc)
    if problems:
        raise InputError(problems)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadedFleet(fleet, catalog, inventory, file, digest, doc)


def load_fleet(path: str | os.PathLike) -> LoadedFleet:
    """Read and check a fleet file; raises InputError naming the file, YAML path and line."""
    return parse_fleet(read_text(path), str(path))
