"""`mig-plan schema`: the JSON Schema of the fleet file, for editors (yaml-language-server)."""

from __future__ import annotations

from planner.cli.common import JSON_OPTION, handles_errors, print_json
from planner.spec.models import Fleet


def fleet_schema() -> dict:
    schema = Fleet.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mig-plan fleet file"
    return schema


@handles_errors
def schema(as_json: bool = JSON_OPTION) -> None:
    """Print the JSON Schema of the fleet file (always JSON; --json is accepted for symmetry)."""
    print_json(fleet_schema())
