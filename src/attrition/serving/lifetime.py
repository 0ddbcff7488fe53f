"""Child processes that die with their parent: no server left answering on its own.

`die_with_parent` is called by a server worker: on Linux the kernel sends it SIGTERM
when its parent goes (`PR_SET_PDEATHSIG`), and everywhere a watchdog thread does the
same when the parent process id changes (the parent died and the worker was adopted).
`parent_death_signal` does the kernel part for a `subprocess.Popen` child.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading

log = logging.getLogger("attrition.serving")

PR_SET_PDEATHSIG = 1
WATCH_EVERY_S = 1.0
_watching = False


def _prctl_death_signal(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def parent_death_signal() -> None:
    """`preexec_fn` for a child that must get SIGTERM when this process dies (Linux)."""
    _prctl_death_signal(signal.SIGTERM)


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Make this process receive `sig` (a graceful stop) once its parent is gone."""
    global _watching
    parent = os.getppid()
    _prctl_death_signal(sig)
    if os.getppid() != parent or parent == 1:  # the parent went before we asked
        os.kill(os.getpid(), sig)
        return
    if _watching:
        return
    _watching = True

    def watch() -> None:
        stop = threading.Event()
        while not stop.wait(WATCH_EVERY_S):
            if os.getppid() != parent:
                log.warning("server process %d is gone: stopping this worker", parent)
                os.kill(os.getpid(), sig)
                return

    threading.Thread(target=watch, name="attrition-parent-watch", daemon=True).start()
