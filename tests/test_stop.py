"""`make serve` stops completely whichever way it is stopped, and the next `make serve` starts.

Each case starts the real stack with `make serve` in a session of its own (as systemd, `timeout` or a CI
runner would), stops it one way, then checks that no process of ours is left (TorchServe's launcher,
Java, workers, the proxy, the watchdogs) and that a second `make serve` on the same run directory and
port comes up.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness import launcher
from harness.launcher import GROUPS_FILE, ROOT, free_port
from tests.conftest import READY_TIMEOUT
from tests.test_serve_command import _lines_of, _wait_for_line

GONE_TIMEOUT = 30.0  # from the signal until the last process of ours has exited


def start(run_dir: Path, port: int, model_store: Path) -> tuple[subprocess.Popen[bytes], object]:
    arguments = f"--free-torchserve-ports --run-dir {run_dir} --model-store {model_store}"
    make = subprocess.Popen(
        ["make", "-s", "serve", f"SERVE_ARGS={arguments}"],
        cwd=ROOT,
        env=os.environ | {"GOCLASSIFY_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # make leads a process group of its own, as under systemd
    )
    return make, _lines_of(make.stdout)


def wait_ready(make: subprocess.Popen[bytes], lines) -> None:
    seen = _wait_for_line(lines, "ready in", READY_TIMEOUT + 120)  # may build the archive first
    if not any("ready in" in line for line in seen):
        make.kill()
        pytest.fail("make serve did not come up:\n" + "".join(seen)[-5000:])


def ours(run_dir: Path, port: int) -> list[psutil.Process]:
    """Every process of this deployment: by TorchServe's TMPDIR, the run directory or the proxy's port."""
    found = []
    for process in psutil.process_iter():
        try:
            command = " ".join(process.cmdline())
            environment = process.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if process.pid == os.getpid():
            continue
        if (
            str(run_dir) in command
            or environment.get("TMPDIR", "").startswith(str(run_dir))
            or f"--port {port}" in command
            or ("harness.watchdog" in command and environment.get("GOCLASSIFY_PORT") == str(port))
        ):
            found.append(process)
    return found


def wait_all_gone(run_dir: Path, port: int, since: float) -> float:
    deadline = since + GONE_TIMEOUT
    while (left := ours(run_dir, port)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"left behind: {[p.cmdline() for p in left]}"
    return time.monotonic() - since


def launcher_of(make: subprocess.Popen[bytes]) -> psutil.Process:
    family = psutil.Process(make.pid).children(recursive=True)
    return next(p for p in family if p.cmdline()[1:3] == ["-m", "harness"])  # not a harness.watchdog


def signal_group(make: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    os.killpg(make.pid, sig)


STOPS = {
    "SIGTERM-to-group": lambda make: signal_group(make, signal.SIGTERM),
    "SIGINT-to-group": lambda make: signal_group(make, signal.SIGINT),
    "SIGTERM-to-make": lambda make: make.send_signal(signal.SIGTERM),
    "double-SIGTERM-50ms": lambda make: (
        signal_group(make, signal.SIGTERM),
        time.sleep(0.05),
        signal_group(make, signal.SIGTERM),
    ),
    "SIGKILL-to-launcher": lambda make: launcher_of(make).kill(),
    # Ctrl-C pressed twice: the second SIGKILLs the children's groups, still a complete stop.
    "SIGINT-twice": lambda make: (
        signal_group(make, signal.SIGINT),
        time.sleep(0.3),
        signal_group(make, signal.SIGINT),
    ),
}


@pytest.mark.parametrize("how", [*STOPS, "SIGTERM-during-start-up"])
def test_every_way_of_stopping_leaves_nothing_and_the_next_start_works(how, tmp_path, model_store):
    port = free_port()
    make, lines = start(tmp_path, port, model_store)
    try:
        if how == "SIGTERM-during-start-up":
            deadline = time.monotonic() + READY_TIMEOUT
            while not (tmp_path / GROUPS_FILE).exists():  # TorchServe and the proxy are starting
                assert make.poll() is None and time.monotonic() < deadline, "".join(_wait_for_line(lines, "", 1))
                time.sleep(0.05)
            signal_group(make, signal.SIGTERM)
        else:
            wait_ready(make, lines)
            STOPS[how](make)
        signalled = time.monotonic()
        make.wait(timeout=GONE_TIMEOUT)
        seconds = wait_all_gone(tmp_path, port, signalled)
        print(f"\n{how}: everything gone {seconds:.2f} s after the signal")
    finally:
        if make.poll() is None:
            make.kill()
    again, again_lines = start(tmp_path, port, model_store)
    try:
        wait_ready(again, again_lines)
        signal_group(again, signal.SIGINT)
        again.wait(timeout=GONE_TIMEOUT)
        wait_all_gone(tmp_path, port, time.monotonic())
    finally:
        if again.poll() is None:
            again.kill()


def test_an_earlier_run_still_alive_is_reported_with_the_command_that_stops_it(tmp_path, model_store):
    """Something of an earlier run (here a stand-in process group, orphaned as a leftover would be, whose
    command line is the proxy's) is still alive: the start refuses and says how to stop it; `make stop`
    stops it; then nothing is left."""
    pid = orphan(PROXY_STAND_IN)
    try:
        (tmp_path / GROUPS_FILE).write_text(json.dumps({"launcher": 1, "groups": [pid]}))
        arguments = f"--free-torchserve-ports --run-dir {tmp_path} --model-store {model_store}"
        environment = os.environ | {"GOCLASSIFY_PORT": str(free_port())}
        serve = ["make", "-s", "serve", f"SERVE_ARGS={arguments}"]
        refused = subprocess.run(serve, cwd=ROOT, env=environment, capture_output=True, text=True)
        assert refused.returncode != 0
        assert "still running" in refused.stderr and "make stop" in refused.stderr
        assert f"kill -TERM -- -{pid}" in refused.stderr
        stop = ["make", "-s", "stop", f"SERVE_ARGS={arguments}"]
        stopped = subprocess.run(stop, cwd=ROOT, env=environment, capture_output=True, text=True)
        assert stopped.returncode == 0, stopped.stderr
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        again = subprocess.run(stop, cwd=ROOT, env=environment, capture_output=True, text=True)
        assert again.returncode == 0 and "nothing of ours is running" in again.stdout
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_stale_record_naming_a_strangers_process_is_not_ours(tmp_path):
    """After a run that left its records (TorchServe's pid file, our groups file), their PID now belongs
    to another program: the start goes on (the records removed) and `make stop` leaves it alone. The
    stranger has the recorded PIDs but started after the records were written, and runs something else."""
    (tmp_path / "tmp").mkdir()
    pid_file, groups = tmp_path / "tmp" / ".model_server.pid", tmp_path / GROUPS_FILE
    stranger = orphan(["sleep", "300"])
    try:
        pid_file.write_text(f"{stranger}\n")
        groups.write_text(json.dumps({"launcher": 1, "groups": [stranger]}))
        past = time.time() - 60  # the records were written a minute before the stranger started
        for record in (pid_file, groups):
            os.utime(record, (past, past))
        assert launcher.why_not_start(tmp_path, launcher.Ports.free()) is None
        assert not pid_file.exists() and not groups.exists()
        # A record written after the stranger started, but naming a command that is not ours, is not ours.
        groups.write_text(json.dumps({"launcher": 1, "groups": [stranger]}))
        assert launcher.stop_leftovers(tmp_path) == 0
        assert psutil.Process(stranger).status() != psutil.STATUS_ZOMBIE
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(stranger, signal.SIGKILL)


def test_our_commands_are_told_from_others():
    assert launcher.is_our_command([sys.executable, "-m", "proxy", "--port", "8000"])
    assert launcher.is_our_command(["/srv/.venv/bin/python", "/srv/.venv/bin/torchserve", "--start", "--foreground"])
    assert launcher.is_our_command(["java", "-Dmodel_server_home=/x", "org.pytorch.serve.ModelServer"])
    assert launcher.is_our_command(["python", "/v/lib/python3.11/site-packages/ts/model_service_worker.py"])
    assert not launcher.is_our_command(["sleep", "300"])
    assert not launcher.is_our_command(["vim", "proxy.py"])


PROXY_STAND_IN = [sys.executable, "-c", "import time; time.sleep(300)", "-m", "proxy"]


def orphan(command: list[str]) -> int:
    """Start ``command`` in a session of its own, orphaned (its parent exits at once), as a leftover
    of an earlier run would be; its PID."""
    start = (
        "import subprocess as s, sys; "
        "print(s.Popen(sys.argv[1:], start_new_session=True, stdout=s.DEVNULL, stderr=s.DEVNULL).pid)"
    )
    ran = subprocess.run([sys.executable, "-c", start, *command], capture_output=True, text=True, check=True)
    return int(ran.stdout)


def test_a_port_in_use_is_named(tmp_path, model_store):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                *(sys.executable, "-m", "harness", "--port", str(port), "--free-torchserve-ports"),
                *("--run-dir", str(tmp_path), "--model-store", str(model_store)),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2 and f"ports [{port}] are already in use" in result.stderr
