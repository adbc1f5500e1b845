"""Metrics directories of killed proxies are removed by the next proxy; a live proxy's never are."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from proxy import metrics_dir

HOLD = (
    "import fcntl, os, sys, time; "
    "lock = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR); fcntl.flock(lock, fcntl.LOCK_EX); "
    "print('locked', flush=True); time.sleep(300)"
)


def made_by(tmp_path, name: str):
    """A metrics directory as a proxy leaves it: counters and the lock file."""
    directory = tmp_path / f"{metrics_dir.PREFIX}{name}"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"\0" * 64)
    (directory / metrics_dir.LOCK_NAME).touch()
    return directory


def test_a_killed_proxys_directory_is_removed_and_a_live_ones_kept(tmp_path):
    killed, alive = made_by(tmp_path, "killed"), made_by(tmp_path, "alive")
    holders = [
        subprocess.Popen([sys.executable, "-c", HOLD, str(d / metrics_dir.LOCK_NAME)], stdout=subprocess.PIPE)
        for d in (killed, alive)
    ]
    try:
        for holder in holders:
            assert holder.stdout.readline().strip() == b"locked"
        holders[0].send_signal(signal.SIGKILL)  # as the OOM killer would: no clean-up of its own
        holders[0].wait(timeout=10)
        mine, lock = metrics_dir.claim(str(tmp_path))
        try:
            assert not killed.exists() and alive.exists() and mine.exists()
            # The new directory is locked while its proxy lives: a third proxy leaves it alone.
            metrics_dir.remove_orphans(tmp_path)
            assert mine.exists() and alive.exists()
        finally:
            os.close(lock)
        assert metrics_dir.remove_orphans(tmp_path) == [mine]  # its proxy gone (lock closed)
    finally:
        for holder in holders:
            holder.kill()
            holder.wait(timeout=10)


def test_an_unlocked_directory_is_removed_only_once_old(tmp_path):
    """An earlier release's directory (no lock file) or one being made right now."""
    fresh, old = tmp_path / f"{metrics_dir.PREFIX}fresh", tmp_path / f"{metrics_dir.PREFIX}old"
    fresh.mkdir()
    old.mkdir()
    past = time.time() - 2 * metrics_dir.UNLOCKED_GRACE_SECONDS
    os.utime(old, (past, past))
    assert metrics_dir.remove_orphans(tmp_path) == [old]
    assert fresh.exists()
