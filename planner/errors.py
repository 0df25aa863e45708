"""Errors a user sees: each names the file, the place in it, what is wrong and how to fix it.

Every problem found in a user's file is a `Problem`; a command collects all of them before it
stops, so a user fixes a file in one pass instead of one error per run.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    message: str
    path: str = ""  # YAML path, e.g. "workloads[2].target"; "" for the whole file
    line: int | None = None  # 1-based line in the file, where the parser knows it
    hint: str | None = None  # how to fix it
    file: str | None = None

    def format(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where += f":{self.line}"
        if self.path:
            where += f": {self.path}" if where else self.path
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "path": self.path,
            "line": self.line,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class InputError(Exception):
    """Bad input: one or more problems. The CLI prints them and exits with code 2."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(p.format() for p in self.problems)


class NoFeasiblePlan(Exception):
    """Valid input, but no plan meets every target. The CLI exits with code 1."""


def yaml_path(loc: tuple | list) -> str:
    """Render a location tuple ('workloads', 2, 'target') as 'workloads[2].target'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
