"""Writing outputs without ever losing what the user had: temp file in the same directory,
fsync, then an atomic rename. An output path that is one of the command's inputs is refused."""

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


def write_atomic(path: str | os.PathLike, text: str, inputs: tuple[str | os.PathLike, ...] = ()) -> None:
    target = Path(path)
    refuse_input_overwrite(target, inputs)
    if target.is_dir():
        raise InputError([Problem("is a directory", "", None, "give a file name for the output", str(path))])
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.exists():
        raise InputError([Problem(f"directory {directory} does not exist", "", None, "create it first", str(path))])
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp makes the file private (0600); give it the mode the replaced file had, or the
        # one a plain write would give (0666 less the umask).
        os.chmod(tmp, _mode_for(target))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
