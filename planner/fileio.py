"""Writing outputs without ever losing what the user had: temp file in the same directory,
fsync, then an atomic rename. An output path that is one of the command's inputs is refused.

A symbolic link is written through (the file it points to is replaced, the link stays); an
existing output that is not a regular file (a FIFO, /dev/stdout, a terminal) is written into
directly: renaming over it would replace the device or pipe with a plain file."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from planner.errors import InputError, Problem


def refuse_input_overwrite(path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...]) -> None:
    """Raise InputError when the output path is one of the command's input files."""
    target = Path(path)
    for source in inputs:
        try:
            same = target.exists() and target.resolve() == Path(source).resolve()
        except OSError:
            same = False
        if same:
            raise InputError([Problem("refusing to write the output over an input file", "", None, "choose another -o path", str(path))])


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _cannot_write(path: str | os.PathLike, exc: OSError) -> InputError:
    return InputError([Problem(f"cannot be written: {exc.strerror or exc}", "", None, "check the path and its permissions", str(path))])


def check_output(path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Raise InputError when `path` cannot be an output: an input, a directory, or in a directory
    that does not exist. Commands that work long before writing call it first; returns the
    directory the output goes in."""
    target = Path(path)
    refuse_input_overwrite(target, inputs)
    if target.is_dir():
        raise InputError([Problem("is a directory", "", None, "give a file name for the output", str(path))])
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.exists():
        raise InputError([Problem(f"directory {directory} does not exist", "", None, "create it first", str(path))])
    if not directory.is_dir():
        raise InputError([Problem(f"{directory} is not a directory", "", None, "choose another output path", str(path))])
    return directory


def refuse_replacing(output: Path, force: bool, mark: str, what: str) -> None:
    """An existing output is replaced only with --force or when its first 4 KB carry `mark`
    (an earlier output of the same command: `what`). Pipes and devices replace nothing."""
    if force or not output.is_file():
        return
    try:
        with open(output, encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        head = ""
    if mark not in head:
        raise InputError([Problem(f"exists and is not {what}", "", None, "use --force to replace it, or another -o path", str(output))])


def _is_special(target: Path) -> bool:
    """An existing output that is neither a regular file nor a directory (FIFO, device, socket)."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def write_atomic(path: str | os.PathLike, text: str, inputs: tuple[str | os.PathLike, ...] = ()) -> None:
    target = Path(path)
    directory = check_output(target, inputs)  # inputs are compared resolved: a link to one is refused too
    if _is_special(target):
        try:
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise _cannot_write(path, exc) from None
        return
    if target.is_symlink():  # replace the file it points to, in that file's directory
        target = Path(os.path.realpath(target))
        directory = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # mkstemp makes the file private (0600); give it the mode the replaced file had, or
            # the one a plain write would give (0666 less the umask).
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), _mode_for(target))
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:  # Ctrl-C included: never leave the temp file behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):  # disk full, read-only file system, ...: the user's to fix
            raise _cannot_write(path, exc) from None
        raise
