"""Run the whole deployment in the foreground: TorchServe with the shipped model, and the proxy.

``make serve`` calls this; the integration tests use the same functions on free loopback ports.

Stopping is all or nothing. Each child runs in its own process group and the whole group is
signalled, so TorchServe's Java frontend and its Python workers go down with it. The first SIGINT
or SIGTERM starts the stop (the proxy first, so it finishes the requests in flight, then TorchServe);
further signals never interrupt it (``kill`` to a process group and make's own hand-on deliver two),
except that a second Ctrl-C hurries it: SIGKILL to the children's groups, still a complete stop. If
the launcher itself dies, a watchdog per group (harness/watchdog.py) stops what it started. A
previous run still alive (its process groups are recorded in the run directory) is reported with
the command that stops it: ``make stop``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import psutil

from harness.watchdog import group_alive, stop_group
from model.integrity import IntegrityError, verify
from proxy.settings import Settings, parse_settings, usable_cores
from scripts.build_mar import MAR_SUMS, build

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.properties"
MODEL_STORE = ROOT / "model-store"
# Every port TorchServe opens. Its gRPC servers cannot be switched off in 0.12, so they get
# loopback ports of their own too, or a second instance would fail to bind 7070.
HTTP_KEYS = {"inference": "inference_address", "management": "management_address", "metrics": "metrics_address"}
GRPC_KEYS = {"grpc_inference": "grpc_inference_port", "grpc_management": "grpc_management_port"}
KEY_FILE_NAME = "key_file.json"  # TorchServe writes it into its working directory
STOP_GRACE_SECONDS = 10.0
# The proxy drains in-flight requests for up to its shutdown timeout before it exits: wait that long and more.
PROXY_STOP_GRACE_SECONDS = Settings().shutdown_timeout + 5.0
READY_POLL_SECONDS = 0.25
WATCH_SECONDS = 0.2  # how often the launcher checks its children and for a stop request
GROUPS_FILE = "groups.json"  # in the run directory: the process groups of the running deployment
# What TorchServe's processes run (launcher, Java frontend, Python workers): how a recorded PID is told
# apart from a stranger that reused it.
TORCHSERVE_COMMANDS = ("bin/torchserve", "org.pytorch.serve.ModelServer", "ts/model_service_worker.py")
CLOCK_SLACK_SECONDS = 1.0  # a process's start time is read in clock ticks, a file's time in nanoseconds


class Interrupted(Exception):
    """A stop was asked for while the deployment was still starting."""


class StopRequest:
    """Signals turned into a request to stop, never into an exception in the middle of stopping.

    The first SIGINT or SIGTERM sets ``requested``; later ones only note it, except that a second
    SIGINT (Ctrl-C pressed again) SIGKILLs the children's process groups at once. The handler takes no
    lock (a ``threading.Event`` would: a signal arriving while the main thread holds it deadlocks),
    so the waiting below is plain polling.
    """

    def __init__(self) -> None:
        self.requested = False
        self.groups: list[int] = []

    def handle(self, signum: int, _frame: object) -> None:
        if self.requested and signum == signal.SIGINT:
            for group in self.groups:
                _killpg(group, signal.SIGKILL)
        self.requested = True

    def install(self) -> None:
        # SIGINT explicitly too: a shell starting us in the background would leave it ignored.
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, self.handle)


@dataclass(frozen=True)
class Ports:
    proxy: int
    inference: int
    management: int
    metrics: int
    grpc_inference: int
    grpc_management: int

    @classmethod
    def free(cls, proxy: int | None = None) -> Ports:
        """Free loopback ports for everything (the proxy's may be given)."""
        return cls(proxy or free_port(), *(free_port() for _ in range(5)))

    @classmethod
    def configured(cls, proxy: int) -> Ports:
        """TorchServe's ports as config.properties sets them."""
        properties = read_properties()
        http = (int(properties[key].rsplit(":", 1)[1]) for key in HTTP_KEYS.values())
        grpc = (int(properties[key]) for key in GRPC_KEYS.values())
        return cls(proxy, *http, *grpc)

    def torchserve_properties(self) -> dict[str, str]:
        addresses = {key: f"http://127.0.0.1:{getattr(self, name)}" for name, key in HTTP_KEYS.items()}
        return addresses | {key: str(getattr(self, name)) for name, key in GRPC_KEYS.items()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_properties(path: Path = CONFIG) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def write_config(
    ports: Ports, destination: Path, model_store: Path = MODEL_STORE, overrides: dict[str, str] | None = None
) -> Path:
    """config.properties with TorchServe's ports set to ``ports``, the model store made absolute, and
    any further ``overrides`` (replacing a property, or added after the others)."""
    required = ports.torchserve_properties() | {"model_store": str(model_store.resolve())}
    missing = set(required) - set(read_properties())
    if missing:
        raise KeyError(f"config.properties lacks {sorted(missing)}")
    replacements = required | (overrides or {})
    lines, seen = [], set()
    for line in CONFIG.read_text().splitlines():
        key = line.split("=", 1)[0].strip()
        if key in replacements and not line.startswith("#"):
            seen.add(key)
            line = f"{key}={replacements[key]}"
        lines.append(line)
    lines += [f"{key}={value}" for key, value in replacements.items() if key not in seen]
    destination.write_text("\n".join(lines) + "\n")
    return destination


def key_file(run_dir: Path) -> Path:
    """Where TorchServe, started in ``run_dir``, writes its token-authorization keys."""
    return run_dir / KEY_FILE_NAME


def start_torchserve(config: Path, run_dir: Path, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start TorchServe in the foreground of a child process, with its files kept in ``run_dir``.

    Its console output goes to ``log`` if given, else to ours.
    """
    tmp = run_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    # TorchServe keeps its pid file in $TMPDIR and its logs in $LOG_LOCATION (default ./logs): a
    # private TMPDIR lets several instances (a dev server, a test run) live side by side.
    env = os.environ | {
        "TMPDIR": str(tmp),
        "TEMP": str(tmp),
        "LOG_LOCATION": str(run_dir / "logs"),
        "METRICS_LOCATION": str(run_dir / "logs"),
    }
    command = [_tool("torchserve"), "--start", "--foreground", "--ncs", "--ts-config", str(config)]
    return _spawn(command, run_dir, log, env)


def start_proxy(
    ports: Ports, log: Path | None = None, *options: str, keys: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start the proxy in front of TorchServe's ``ports``, using the token keys in ``keys``;
    ``options`` are further proxy flags."""
    if keys is not None:
        options = ("--torchserve-key-file", str(keys), *options)
    command = [
        sys.executable,
        "-m",
        "proxy",
        "--port",
        str(ports.proxy),
        "--inference-url",
        f"http://127.0.0.1:{ports.inference}",
        "--management-url",
        f"http://127.0.0.1:{ports.management}",
        *options,
    ]
    return _spawn(command, ROOT, log)


def _spawn(
    command: list[str], cwd: Path, log: Path | None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``command`` as the leader of a new process group, watched (harness/watchdog.py) so that it
    is stopped if we die; output to ``log`` or to our console."""
    if log is None:
        child = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True)
    else:
        with log.open("ab") as output:  # the child keeps its own copy of the descriptor
            child = subprocess.Popen(
                command, cwd=cwd, env=env, start_new_session=True, stdout=output, stderr=subprocess.STDOUT
            )
    watchdog = [sys.executable, "-m", "harness.watchdog", "--parent", str(os.getpid()), "--group", str(child.pid)]
    _watchdogs.append(subprocess.Popen(watchdog, cwd=ROOT, start_new_session=True, stdin=subprocess.DEVNULL))
    return child


_watchdogs: list[subprocess.Popen[bytes]] = []  # kept so that they are reaped when they exit


def wait_until_ready(
    proxy_port: int, timeout: float, children: list[subprocess.Popen[bytes]], stop: StopRequest | None = None
) -> float:
    """Poll the proxy's /healthz until it says the model is ready; return the seconds waited.

    Raises :class:`Interrupted` as soon as a stop is requested."""
    started = time.monotonic()
    url = f"http://127.0.0.1:{proxy_port}/healthz"
    while time.monotonic() - started < timeout:
        if stop is not None and stop.requested:
            raise Interrupted
        for child in children:
            if child.poll() is not None:
                raise RuntimeError(f"{child.args[0]} exited with code {child.returncode} during start-up")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(READY_POLL_SECONDS)
    raise TimeoutError(f"not ready after {timeout:.0f} s: {url}")


def wait_for_listen(port: int, child: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until something accepts connections on loopback ``port``, as long as ``child`` lives."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{child.args[0]} exited with code {child.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port} after {timeout:.0f} s")


def stop(child: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the child's whole process group, then SIGKILL whatever is left after ``grace`` seconds."""
    stop_group(child.pid, grace, reap=child.poll)


@contextmanager
def serving_current_sources(timeout: float = 120.0, **options: Any) -> Iterator[Deployment]:
    """A .mar freshly built from the working tree, served on free ports from a scratch directory;
    ``options`` go to ``running_deployment``."""
    with tempfile.TemporaryDirectory(prefix="goclassify-") as scratch:
        store = build(Path(scratch) / "model-store").parent
        with running_deployment(store, Path(scratch), timeout=timeout, **options) as running:
            yield running


@dataclass(frozen=True)
class Deployment:
    ports: Ports
    children: tuple[subprocess.Popen[bytes], ...]
    ready_seconds: float  # from starting the processes to /healthz answering 200
    run_dir: Path

    def alive(self) -> bool:
        return all(child.poll() is None for child in self.children)

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.ports.proxy}"

    @property
    def inference(self) -> str:
        return f"http://127.0.0.1:{self.ports.inference}"

    @property
    def management(self) -> str:
        return f"http://127.0.0.1:{self.ports.management}"

    def rss_mb(self) -> float:
        """Resident memory of the whole stack: TorchServe (Java and workers) and the proxy."""
        processes = [process for child in self.children for process in process_tree(child)]
        return sum(process.memory_info().rss for process in processes) / 2**20

    def auth(self, kind: str) -> dict[str, str]:
        """The header TorchServe wants on a direct ``inference`` or ``management`` call."""
        keys = json.loads(key_file(self.run_dir).read_text())
        return {"Authorization": f"Bearer {keys[kind]['key']}"}


def _head_and_tail(text: str, head: int = 3000, tail: int = 4000) -> str:
    """A log's start (what went wrong first) and end (what it led to), for a failed start-up."""
    if len(text) <= head + tail:
        return text
    return f"{text[:head]}\n[... {len(text) - head - tail} characters left out ...]\n{text[-tail:]}"


@contextmanager
def running_deployment(
    model_store: Path,
    run_dir: Path,
    ports: Ports | None = None,
    timeout: float = 120.0,
    log_to_files: bool = True,
    properties: dict[str, str] | None = None,
    proxy_options: tuple[str, ...] = (),
    stop_request: StopRequest | None = None,
) -> Iterator[Deployment]:
    """TorchServe and the proxy (on free loopback ports unless ``ports`` is given), ready; stopped on exit.

    With ``log_to_files`` their output goes to ``run_dir``/*.log and is printed if start-up fails;
    otherwise it stays on our console. ``properties`` override config.properties; ``proxy_options``
    are further proxy flags. With ``stop_request``, a signal during start-up raises :class:`Interrupted`
    (after a complete stop) and a second Ctrl-C can SIGKILL the children's groups.
    """
    ports = ports or Ports.free()
    config = write_config(ports, run_dir / "config.properties", model_store, properties)
    logs = (run_dir / "torchserve.log", run_dir / "proxy.log") if log_to_files else (None, None)
    key_file(run_dir).unlink(missing_ok=True)  # a previous run's keys are void
    children: list[subprocess.Popen[bytes]] = []
    try:
        children.append(start_torchserve(config, run_dir, logs[0]))
        children.append(start_proxy(ports, logs[1], *proxy_options, keys=key_file(run_dir)))
        groups = [child.pid for child in children]
        if stop_request is not None:
            stop_request.groups.extend(groups)
        (run_dir / GROUPS_FILE).write_text(json.dumps({"launcher": os.getpid(), "groups": groups}) + "\n")
        ready = wait_until_ready(ports.proxy, timeout, children, stop_request)
        yield Deployment(ports, tuple(children), ready, run_dir)
    except (RuntimeError, TimeoutError):
        for log in sorted(run_dir.rglob("*.log")):
            print(f"===== {log} =====\n{_head_and_tail(log.read_text(errors='replace'))}", file=sys.stderr)
        raise
    finally:
        # The proxy first: it finishes the requests in flight while TorchServe still answers them.
        if len(children) == 2:
            stop(children[1], PROXY_STOP_GRACE_SECONDS)
        if children:
            stop(children[0])
        (run_dir / GROUPS_FILE).unlink(missing_ok=True)


def process_tree(child: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """A child we started and every process below it (for TorchServe: Java and its workers)."""
    leader = psutil.Process(child.pid)
    return [leader, *leader.children(recursive=True)]


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def leftovers(run_dir: Path) -> list[int]:
    """Process groups of an earlier run in ``run_dir`` that are still alive and still ours: its recorded
    groups, and the group of the TorchServe whose pid file is there. A record that names no process of
    ours (the run ended without removing it, and its PID may since belong to a stranger) is removed."""
    groups: set[int] = set()
    recorded = run_dir / GROUPS_FILE
    if recorded.exists():
        with suppress(ValueError, KeyError, TypeError):
            listed = {int(group) for group in json.loads(recorded.read_text())["groups"]}
            groups.update(group for group in listed if ours(group, recorded.stat().st_mtime, in_group=True))
        if not groups:
            recorded.unlink(missing_ok=True)
    pid_file = run_dir / "tmp" / ".model_server.pid"  # TorchServe's own, in the TMPDIR we give it
    if pid_file.exists():
        with suppress(ValueError, ProcessLookupError, PermissionError):
            pid = int(pid_file.read_text().strip())
            if ours(pid, pid_file.stat().st_mtime):
                groups.add(os.getpgid(pid))
            else:
                pid_file.unlink(missing_ok=True)
    return sorted(group for group in groups if group_alive(group))


def ours(pid: int, recorded_at: float, in_group: bool = False) -> bool:
    """Whether ``pid`` (with ``in_group``: any process of the group it leads) is a process this launcher
    starts, started no later than it was recorded at: a PID reused since started after its record. A
    process we may not inspect (another user's) is not ours."""
    candidates: list[psutil.Process] = []
    with suppress(psutil.Error):
        candidates.append(psutil.Process(pid))
    if in_group:
        candidates += [p for p in psutil.process_iter() if p.pid != pid and _group_of(p.pid) == pid]
    for process in candidates:
        with suppress(psutil.Error):
            if process.create_time() <= recorded_at + CLOCK_SLACK_SECONDS and is_our_command(process.cmdline()):
                return True
    return False


def is_our_command(command: list[str]) -> bool:
    """TorchServe's launcher, frontend and workers, or the proxy, as :func:`start_torchserve` and
    :func:`start_proxy` run them."""
    line = " ".join(command)
    proxy = any(a == "-m" and b == "proxy" for a, b in itertools.pairwise(command))
    return proxy or any(marker in line for marker in TORCHSERVE_COMMANDS)


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def stop_leftovers(run_dir: Path) -> int:
    """``make stop``: stop an earlier run's processes; 0 when nothing is left."""
    groups = leftovers(run_dir)
    for group in groups:
        stop_group(group, STOP_GRACE_SECONDS)
    still = leftovers(run_dir)
    if still:
        print(f"error: process groups {still} did not stop", file=sys.stderr)
        return 1
    print(f"stopped {len(groups)} process group(s) of an earlier run" if groups else "nothing of ours is running")
    (run_dir / GROUPS_FILE).unlink(missing_ok=True)
    return 0


def busy_ports(ports: Ports) -> list[int]:
    """Ports of ours that something already listens on."""
    busy = []
    for port in (ports.proxy, ports.inference, ports.management, ports.metrics):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    return busy


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("GOCLASSIFY_PORT", "8000")),
        help="proxy port (env GOCLASSIFY_PORT)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("GOCLASSIFY_WORKERS", "0")),
        help="TorchServe workers (env GOCLASSIFY_WORKERS); 0: TorchServe's default, one per core. "
        "The proxy's processes: env GOCLASSIFY_PROCESSES (0: one per 2 cores, at least 2)",
    )
    parser.add_argument("--ready-timeout", type=float, default=120.0)
    parser.add_argument("--run-dir", type=Path, default=ROOT / ".run", help="TorchServe's logs, pid file, config")
    parser.add_argument("--model-store", type=Path, default=MODEL_STORE)
    parser.add_argument(
        "--free-torchserve-ports",
        action="store_true",
        help="put TorchServe on free loopback ports instead of config.properties' (tests)",
    )
    parser.add_argument("--stop", action="store_true", help="stop an earlier run left in --run-dir, then exit")
    args = parser.parse_args(argv)
    run_dir = args.run_dir.resolve()
    if args.stop:
        return stop_leftovers(run_dir)
    if not (args.model_store / "mnist.mar").exists():
        print(f"error: {args.model_store}/mnist.mar is missing; run `make mar` (make serve does)", file=sys.stderr)
        return 2
    try:  # serve only the archive whose checksum the repo records
        verify(args.model_store / "mnist.mar", MAR_SUMS)
    except IntegrityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run_dir.mkdir(parents=True, exist_ok=True)
    ports = Ports.free(args.port) if args.free_torchserve_ports else Ports.configured(args.port)
    if refusal := why_not_start(run_dir, ports):
        print(refusal, file=sys.stderr)
        return 2
    stop_request = StopRequest()
    stop_request.install()
    try:
        properties, proxy_options = worker_options(args.workers)
        with running_deployment(
            args.model_store,
            run_dir,
            ports,
            args.ready_timeout,
            log_to_files=False,
            properties=properties,
            proxy_options=proxy_options,
            stop_request=stop_request,
        ) as running:
            say(
                f"\nGoClassify ready in {running.ready_seconds:.1f} s ({describe_scale(running, proxy_options)}): "
                f"curl -F image=@digit.png http://127.0.0.1:{args.port}/classify  (Ctrl-C stops)\n"
            )
            while running.alive() and not stop_request.requested:
                time.sleep(WATCH_SECONDS)
            if not stop_request.requested:
                say("error: a service exited; stopping the other", sys.stderr)
                return 1
            say("\nstopping GoClassify...")
        say("stopped")
        return 0
    except Interrupted:
        say("stopped during start-up")
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}; TorchServe logs are in {run_dir / 'logs'}", file=sys.stderr)
        return 1


def worker_options(workers: int) -> tuple[dict[str, str], tuple[str, ...]]:
    """config.properties overrides and proxy flags for ``workers`` TorchServe workers (0: the defaults,
    one per core), so that the proxy sends each worker one request at a time."""
    if workers < 0:
        raise ValueError("--workers must be positive, or 0 for one per core")
    if not workers:
        return {}, ()
    return {"default_workers_per_model": str(workers)}, ("--upstream-concurrency", str(workers))


def describe_scale(deployment: Deployment, proxy_options: tuple[str, ...] = ()) -> str:
    """What the deployment chose for this machine: TorchServe's workers and the proxy's processes."""
    chosen = parse_settings(list(proxy_options))  # the proxy resolves the same environment and flags
    with urllib.request.urlopen(f"{deployment.proxy}/healthz", timeout=5) as answer:
        workers = json.loads(answer.read())["workers"]
    return (
        f"{usable_cores()} cores: {workers} TorchServe workers, {chosen.processes} proxy "
        f"process{'es' if chosen.processes > 1 else ''} sending up to {chosen.upstream_concurrency} requests at once"
    )


def say(message: str, stream: TextIO = sys.stdout) -> None:
    """Print, unless our terminal or pipe is gone: a lost console must not abort the stop."""
    with suppress(OSError):
        print(message, file=stream, flush=True)


def why_not_start(run_dir: Path, ports: Ports) -> str | None:
    """Why this start would fail, with what to do about it; None if nothing is in the way."""
    groups = leftovers(run_dir)
    if groups:
        members = " -".join(str(group) for group in groups)
        return (
            f"error: GoClassify from an earlier run is still running (process groups {groups}, recorded in "
            f"{run_dir}).\nStop it with:  make stop    (or: kill -TERM -- -{members})"
        )
    busy = busy_ports(ports)
    if busy:
        return (
            f"error: ports {busy} are already in use by another program. Free them, or choose another proxy "
            "port with GOCLASSIFY_PORT=8001 make serve (TorchServe's ports are in config.properties)."
        )
    return None


if __name__ == "__main__":
    sys.exit(main())
