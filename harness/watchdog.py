"""Stop a child's process group when the launcher that started it dies: ``python -m harness.watchdog``.

The launcher (harness/launcher.py) starts TorchServe and the proxy in process groups of their own, so that
a Ctrl-C in the terminal reaches only the launcher, which then stops them in order. If the launcher
itself is killed (SIGKILL, an out-of-memory kill, a crash), nobody would stop them: a TorchServe nobody
watches, with no security patches, holding the ports. PR_SET_PDEATHSIG cannot help, because it
reaches only the direct child (TorchServe's Python launcher), not the Java frontend and workers it
starts. So each group gets this small watchdog, in a session of its own (a signal to the launcher's
group does not reach it). Its parent is the launcher; when the launcher dies the watchdog is
re-parented, sees its parent change, and stops the group: SIGTERM, then SIGKILL after the grace
period. It exits by itself as soon as the group is gone. Standard library only, so it starts in
milliseconds and holds a few MB.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable

POLL_SECONDS = 0.2


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def stop_group(pgid: int, grace: float, reap: Callable[[], object] | None = None) -> None:
    """SIGTERM the group, then SIGKILL whatever is left after ``grace`` seconds.

    ``reap`` is for the leader's parent (the launcher): an exited child stays a zombie in its group
    until its parent waits for it, so the parent passes ``Popen.poll`` to be called while waiting."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while True:
            if reap is not None:
                reap()
            if not group_alive(pgid):
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)


def watch(parent: int, pgid: int, grace: float) -> str:
    """Wait for the parent to die (then stop the group) or for the group to go; say which happened."""
    while True:
        if not group_alive(pgid):
            return "group gone"
        if os.getppid() != parent:
            stop_group(pgid, grace)
            return "launcher gone: group stopped"
        time.sleep(POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parent", type=int, required=True, help="the launcher's pid (this process's parent)")
    parser.add_argument("--group", type=int, required=True, help="the process group to stop")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL")
    args = parser.parse_args(argv)
    # The launcher's Ctrl-C or SIGTERM is its business: it stops the group itself, in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != args.parent:  # the launcher died before we even started
        stop_group(args.group, args.grace)
        return 0
    watch(args.parent, args.group, args.grace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
