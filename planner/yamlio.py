"""Read user YAML safely, remembering the line of every value.

Safety, not just parsing: only plain data types are built (SafeLoader), files that are too large,
not UTF-8, or whose aliases would expand to an enormous document ("billion laughs") are refused
before anything is built, and duplicate keys — which PyYAML silently resolves to the last one —
are reported, since in a hand-edited fleet file they are nearly always a mistake.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from planner.errors import InputError, Problem

MAX_FILE_BYTES = 16 * 1024 * 1024
# Nodes a document may expand to once aliases are followed. A 10,000-node fleet file is far below.
MAX_EXPANDED_NODES = 2_000_000
MAX_DEPTH = 64


@dataclass
class Document:
    """A parsed file: its data and, for each YAML path, the 1-based line it starts on."""

    file: str
    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)

    def line_of(self, loc: tuple) -> int | None:
        """Line of the deepest known prefix of `loc` (pydantic locations can point below a value)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)


def _fail(file: str, message: str, line: int | None = None, hint: str | None = None) -> InputError:
    return InputError([Problem(message, "", line, hint, file)])


def read_text(path: str | os.PathLike) -> str:
    """Read a user file as UTF-8 text, turning every OS-level failure into an InputError."""
    file = str(path)
    p = Path(path)
    if not p.exists():
        raise _fail(file, "file not found", hint="check the path")
    if p.is_dir():
        raise _fail(file, "is a directory, not a file", hint="pass the path of a YAML file")
    limit = f"the limit is {MAX_FILE_BYTES // 2**20} MiB"
    hint = "a fleet file this large is almost certainly not one; check the path"
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _fail(file, f"file is {size / 2**20:.1f} MiB; {limit}", hint=hint)
        # Read at most one byte past the limit: a device or a pipe (/dev/zero, /dev/stdin) has no
        # size to check beforehand and may never end.
        with p.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise _fail(file, f"file is larger than {MAX_FILE_BYTES // 2**20} MiB, the limit", hint=hint)
    except PermissionError:
        raise _fail(file, "cannot be read (permission denied)", hint="check the file's permissions")
    except OSError as exc:
        raise _fail(file, f"cannot be read: {exc.strerror or exc}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fail(
            file,
            f"is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            line,
            "save the file as UTF-8",
        )


def _expanded_size(node: yaml.Node, memo: dict[int, int], depth: int, file: str) -> int:
    """Number of nodes the document has once every alias is expanded (aliases share node objects)."""
    if depth > MAX_DEPTH:
        raise _fail(
            file,
            f"nested more than {MAX_DEPTH} levels deep",
            node.start_mark.line + 1,
            "a fleet file is a few levels deep; check the indentation",
        )
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # guards against recursive aliases while we descend
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded_size(child, memo, depth + 1, file)
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, memo, depth + 1, file)
            total += _expanded_size(v, memo, depth + 1, file)
    if total > MAX_EXPANDED_NODES:
        raise _fail(
            file,
            f"expands to more than {MAX_EXPANDED_NODES:,} values through aliases",
            node.start_mark.line + 1,
            "remove the nested '*alias' references",
        )
    memo[key] = total
    return total


def _index_lines(node: yaml.Node, loc: tuple, lines: dict[tuple, int], problems: list[Problem], file: str) -> None:
    if loc not in lines:
        lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _index_lines(child, loc + (i,), lines, problems, file)
    elif isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else None
            if key is not None:
                # YAML `0:` is an int key; both spellings address the same place.
                typed = int(key) if isinstance(key, str) and key.isdigit() else key
                if typed in seen:
                    problems.append(
                        Problem(
                            f"duplicate key '{key}' (first on line {seen[typed]})",
                            _render(loc + (typed,)),
                            k.start_mark.line + 1,
                            "keep one of them",
                            file,
                        )
                    )
                else:
                    seen[typed] = k.start_mark.line + 1
                lines[loc + (typed,)] = k.start_mark.line + 1
                _index_lines(v, loc + (typed,), lines, problems, file)
                lines[loc + (typed,)] = k.start_mark.line + 1


def _render(loc: tuple) -> str:
    from planner.errors import yaml_path

    return yaml_path(loc)


_FAST_LOADER = getattr(yaml, "CSafeLoader", None)  # libyaml: the same data, ~5x faster on large files
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_HOPELESS_DEPTH = 4 * MAX_DEPTH


def _fast_is_safe(text: str, file: str) -> bool:
    """Whether libyaml may build this document: its composer recurses in C, and a document nested
    thousands deep crashes the process, so nesting is measured first on its (flat) event stream.
    Nesting far beyond MAX_DEPTH is refused here at once (PyYAML's scanner takes time quadratic in
    the depth of flow nesting); slightly beyond, PyYAML's path says by how much.
    Either loader gives the same data; the files they accept differ only in corner cases."""
    if _FAST_LOADER is None:
        return False
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_FAST_LOADER):
            if isinstance(event, _OPENS):
                depth += 1
                if depth > _HOPELESS_DEPTH:
                    raise _fail(file, "nested too deeply to read", event.start_mark.line + 1, "a fleet file is a few levels deep")
            elif isinstance(event, _CLOSES):
                depth -= 1
    except yaml.YAMLError:
        return False  # the pure-Python loader says what is wrong, in its words
    if depth > MAX_DEPTH or any(c in text for c in "\t!?\ufeff"):
        # Where the two differ (found by fuzzing them against each other): libyaml accepts tabs
        # between tokens and '?' inside flow scalars, which PyYAML refuses, reads a bare '!' tag
        # as '' where PyYAML reads null, and reads a byte-order mark inside the text differently.
        # Such files take the pure-Python path.
        return False
    return True


def _load(text: str, file: str, loader_class: type) -> Document:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _fail(file, "the file holds no YAML document", hint="start from examples/fleet.yaml")
        _expanded_size(node, {}, 0, file)
        lines: dict[tuple, int] = {}
        problems: list[Problem] = []
        _index_lines(node, (), lines, problems, file)
        if problems:
            raise InputError(problems)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    return Document(file, data, lines)


def parse_yaml(text: str, file: str) -> Document:
    """Parse YAML text into plain data plus a line index; every failure is an InputError.

    libyaml builds the document when it is installed and the document is shallow; any YAML error
    it meets is reported by re-reading with PyYAML's pure-Python loader, whose messages (and
    nesting checks) are the ones users see."""
    if not text.strip():
        raise _fail(file, "the file is empty", hint="start from examples/fleet.yaml")
    if _fast_is_safe(text, file):
        try:
            return _load(text, file, _FAST_LOADER)
        except (yaml.YAMLError, RecursionError):  # e.g. a recursive alias
            pass
    try:
        return _load(text, file, yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = exc.problem or exc.context or "invalid YAML"
        if "'\\t'" in reason and mark is not None:
            # PyYAML's own message for a tab ("cannot start any token") is cryptic. Tabs inside
            # quoted strings and block scalars are fine; PyYAML fails only on the others.
            rows = text.splitlines()
            before = rows[mark.line][: mark.column] if mark.line < len(rows) else ""
            what = "indented with a tab character" if not before.strip() else "a tab character outside a quoted string"
            raise _fail(file, what, line, "replace it with spaces; YAML indentation must use spaces")
        if isinstance(exc, yaml.constructor.ConstructorError) and "for the tag" in reason:
            # e.g. !!python/object: SafeLoader builds only plain data
            raise _fail(file, f"unsupported YAML tag: {reason}", line, "a fleet file holds plain data; remove the tag")
        raise _fail(file, f"YAML syntax error: {reason}", line, "fix the YAML syntax near this line")
    except yaml.reader.ReaderError as exc:  # a control character; it has an offset, not a mark
        line = text[: exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise _fail(
            file,
            f"contains the control character U+{code:04X}, which YAML does not allow",
            line,
            "delete it, or write it as an escape in a double-quoted string",
        )
    except yaml.YAMLError as exc:
        raise _fail(file, f"YAML error: {exc}")
    except RecursionError:
        raise _fail(file, "nested too deeply to read", hint="a fleet file is a few levels deep")


def load_document(path: str | os.PathLike) -> Document:
    """Read and parse a YAML (or JSON, which is YAML) file."""
    text = read_text(path)
    return parse_yaml(text, str(path))
