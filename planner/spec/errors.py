"""Turn pydantic's validation errors into `Problem`s a user can act on.

pydantic reports a location tuple and a terse message; a user needs the YAML path, the line, and
for an unknown key the key they probably meant.
"""

from __future__ import annotations

import datetime

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from planner.errors import Problem, yaml_path
from planner.yamlio import Document


def suggest(word: str, choices: typing.Iterable[str]) -> str | None:
    """'did you mean' for a misspelt name, or None when nothing is close."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out.extend(_models_in(arg))
    return out


def _container_item(annotation: Any, key: Any) -> Any:
    """The annotation one step inside a list/dict annotation (through Optional and Annotated)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            inner = _container_item(arg, key)
            if inner is not None:
                return inner
        return None
    if origin is list and isinstance(key, int):
        return typing.get_args(annotation)[0]
    if origin is dict:
        return typing.get_args(annotation)[1]
    return None


def fields_at(root: type[BaseModel], loc: tuple) -> list[str]:
    """Field names allowed at the mapping addressed by `loc`."""
    annotation: Any = root
    for part in loc:
        models = _models_in(annotation)
        if models and isinstance(part, str) and part in models[0].model_fields:
            annotation = models[0].model_fields[part].annotation
            continue
        inner = _container_item(annotation, part)
        if inner is None:
            return []
        annotation = inner
    models = _models_in(annotation)
    return list(models[0].model_fields) if models else []


def _number_hint(kind: str, given: Any) -> str | None:
    """A number that YAML read as text: quoted ('10'), or an exponent without a dot (2e4), which
    YAML 1.1 does not call a number."""
    if kind not in ("int_type", "float_type") or not isinstance(given, str):
        return None
    try:
        number = float(given)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    plain = str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    mantissa, e, exponent = plain.partition("e")
    if e and "." not in mantissa:  # YAML 1.1 needs the dot: 1.0e+300, not 1e+300
        plain = f"{mantissa}.0e{exponent}"
    return f"YAML reads {given!r} as text; write the number plainly: {plain}"


def _message(err: dict) -> tuple[str, str | None]:
    kind = err["type"]
    msg = err["msg"]
    if kind == "missing":
        return f"missing required key '{err['loc'][-1]}'", None
    if kind.startswith("value_error"):
        return msg.removeprefix("Value error, "), None
    if kind in ("int_type", "float_type", "string_type", "bool_type", "dict_type", "list_type", "model_type",
                "int_from_float", "literal_error", "model_attributes_type"):
        given = err.get("input")
        if isinstance(given, (datetime.date, datetime.datetime)):  # YAML turned 2024-01-01 into a date
            return f"{msg[0].lower()}{msg[1:]}, got the date {given.isoformat()}", f"quote it: '{given.isoformat()}'"
        shown = repr(given) if not isinstance(given, (dict, list)) else type(given).__name__
        return f"{msg[0].lower()}{msg[1:]}, got {shown}", _number_hint(kind, given)
    if kind == "finite_number":
        return "must be a finite number (not NaN or infinity)", None
    return msg[0].lower() + msg[1:], None


def problems_from_validation(exc: ValidationError, root: type[BaseModel], doc: Document, prefix: tuple = ()) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        if "[key]" in loc:  # a mapping key of the wrong type; pydantic reports one error per union branch
            loc = loc[: loc.index("[key]")]
            key = err.get("input", loc[-1])  # the key as read (the location has it as 1 or 'None')
            if isinstance(key, (bool, datetime.date)) or key is None:
                # yes/no/on/off/true/false, ~/null and 2024-01-01 are not text to YAML 1.1: name
                # what it read, at the mapping that holds the key (the key has no path as text).
                if isinstance(key, datetime.date):
                    read = f"the date {key.isoformat()}"
                else:
                    read = "null" if key is None else str(key).lower()
                problem = Problem(
                    f"a key here is read by YAML as {read}, not as a name",
                    yaml_path(loc[:-1]),
                    doc.line_of(loc[:-1]),
                    "quote it ('yes': ..., '~': ..., '2024-01-01': ...): unquoted, YAML reads them as booleans, null or dates",
                    doc.file,
                )
            else:
                problem = Problem(
                    f"the key {key!r} must be text", yaml_path(loc), doc.line_of(loc), "quote it", doc.file
                )
            if problem not in problems:
                problems.append(problem)
            continue
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = fields_at(root, loc[len(prefix):-1])
            guess = suggest(key, allowed)
            hint = f"did you mean '{guess}'?" if guess else (f"allowed keys: {', '.join(allowed)}" if allowed else None)
            problems.append(Problem(f"unknown key '{key}'", yaml_path(loc), doc.line_of(loc), hint, doc.file))
            continue
        message, hint = _message(err)
        problems.append(Problem(message, yaml_path(loc), doc.line_of(loc), hint, doc.file))
    return problems
