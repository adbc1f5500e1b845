"""The private directory of the proxy processes' Prometheus counters, and the removal of those that a
killed proxy left behind.

A proxy stopped normally removes its directory. One killed (SIGKILL, out of memory) cannot, and a
container restarted in the same pod finds the dead one's directory in the same temporary volume: over
restarts they would fill it. So each directory holds a lock file, locked (``flock``) by the proxy that
made it for as long as it or any of its forked processes lives; the kernel releases the lock when the
last of them dies, however it dies. A new proxy removes every directory whose lock it can take. PIDs
would not do: in a restarted container the new proxy often gets the dead one's PID.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path

PREFIX = "goclassify-proxy-metrics-"
LOCK_NAME = ".owner.lock"
# A directory without a lock file is an earlier release's, or one being made right now: removed only
# once it is older than this.
UNLOCKED_GRACE_SECONDS = 60.0


def claim(parent: str | None = None) -> tuple[Path, int]:
    """A new metrics directory under ``parent`` (default: the temporary directory), locked by this
    process (the descriptor is returned: keep it open; forked children share it); orphaned ones removed."""
    parent = parent or tempfile.gettempdir()
    remove_orphans(Path(parent))
    directory = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    lock = os.open(directory / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return directory, lock


def remove_orphans(parent: Path) -> list[Path]:
    """Remove the metrics directories under ``parent`` whose proxy is gone; return them."""
    removed = []
    for directory in parent.glob(f"{PREFIX}*"):
        if directory.is_dir() and not directory.is_symlink() and _orphaned(directory):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


def _orphaned(directory: Path) -> bool:
    try:
        lock = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return time.time() - directory.stat().st_mtime > UNLOCKED_GRACE_SECONDS
    except OSError:  # another user's, or not a regular file: not ours to judge
        return False
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its proxy lives
    finally:
        os.close(lock)
    return True
