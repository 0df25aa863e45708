"""Ctrl-C as a request to stop, answered at safe points, rather than an exception raised anywhere.

The planner promises the best verified plan so far when the user presses Ctrl-C. An exception can
land anywhere — inside the LP solve, between two fields of a solution being copied — and lose
every plan found. So while planning runs, the first Ctrl-C only calls `request()`; the code polls
what it set (the search stops within 0.1 s, a C++ solve in progress finishes first). A second
Ctrl-C raises KeyboardInterrupt at once, for a user who will not wait.

Contexts nest: an inner one (the search) restores the outer one's handler when it ends, and
`requested()` is shared through the caller's own state, so a press seen by either counts once.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator


@dataclass
class StopRequest:
    """Whether the user asked to stop: set by the Ctrl-C handler, read where the work can stop."""

    requested: bool = False

    def request(self) -> None:
        self.requested = True


@contextmanager
def ctrl_c_requests_stop(requested: Callable[[], bool], request: Callable[[], None]) -> Iterator[None]:
    """Within the block, Ctrl-C calls `request()`, or raises KeyboardInterrupt if `requested()`
    already holds. Signal handlers belong to the main thread; elsewhere Ctrl-C never reaches the
    code inside anyway, and the block runs unchanged; so it does where SIGINT is ignored (a
    background job of a non-interactive shell: Ctrl-C is not meant for it)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return

    def on_ctrl_c(signum, frame) -> None:
        if requested():
            raise KeyboardInterrupt
        request()

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
