"""Several proxy processes on one port, for machines with more cores than one event loop can use.

Each process binds the port itself with SO_REUSEPORT, so the kernel spreads new connections evenly
over them; a shared listening socket (gunicorn's pre-fork model) lets whichever process wakes first
take each connection, and busy event loops end up with uneven shares. Each process coalesces its own
uploads with its share of the TorchServe requests (``Settings.process_concurrency``).

This parent only starts, signals and waits: SIGTERM or SIGINT is passed on to every process, which
drains its requests in flight (proxy/lifecycle.py). If one process dies on its own, the others are
stopped too and the exit status says so, so that whoever supervises the service (systemd, Docker,
Kubernetes, ``make serve``) restarts it whole instead of running on with fewer processes.

Prometheus counters are summed over the processes (prometheus_client's multiprocess mode, which
keeps them in files in a private directory, proxy/metrics_dir.py), so ``/metrics`` is the same
whichever process answers.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
from collections.abc import Callable

from proxy import metrics_dir as metrics_dir_module
from proxy.settings import Settings

logger = logging.getLogger("goclassify.proxy")
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client when it is imported


def supervise(settings: Settings, run: Callable[[Settings, bool], None]) -> int:
    """Run ``run(settings, reuse_port=True)`` in ``settings.processes`` processes until they end."""
    metrics_dir, lock = metrics_dir_module.claim()  # and the directories of killed proxies removed
    os.environ[METRICS_DIR_VARIABLE] = str(metrics_dir)  # before any child imports prometheus_client
    context = multiprocessing.get_context("fork")  # no event loop exists yet in this process
    children = [
        context.Process(target=_serve_one, args=(run, settings), name=f"proxy-{n}") for n in range(settings.processes)
    ]
    asked_to_stop = False

    def stop_all(signum: int = signal.SIGTERM, _frame: object = None) -> None:
        nonlocal asked_to_stop
        asked_to_stop = asked_to_stop or signum != 0
        for child in children:
            if child.pid is not None and child.exitcode is None:
                os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    # Held back while forking: a stop delivered in between would run stop_all inside a child that
    # has not yet replaced it (and be lost there), or find the last children without a pid. Released
    # once every child has one; each child releases its own after resetting the handlers.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        for child in children:
            child.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    logger.info(
        "%d proxy processes (pids %s), each with up to %d TorchServe requests at once",
        len(children), ", ".join(str(child.pid) for child in children), settings.process_concurrency,
    )  # fmt: skip
    others_stopped = False
    try:
        # Ended processes are looked for before each wait, not only after it: one that ended before
        # the first look (while the others were still being started) has no sentinel in the wait.
        while running := [child for child in children if child.exitcode is None]:
            ended = [f"{child.name} (exit {child.exitcode})" for child in children if child.exitcode is not None]
            if ended and not (asked_to_stop or others_stopped):
                logger.error("%s ended on its own: stopping the other processes", ", ".join(ended))
                stop_all(0)
                others_stopped = True
            multiprocessing.connection.wait([child.sentinel for child in running])
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.close(lock)
    # A process the stop reached before its event loop took over SIGTERM ends by the signal itself:
    # that is a clean stop too.
    stopped = (0, -signal.SIGTERM)
    return 0 if asked_to_stop and all(child.exitcode in stopped for child in children) else 1


def _serve_one(run: Callable[[Settings, bool], None], settings: Settings) -> None:
    """One process's start: the parent's signal handlers are not for it (its event loop installs its
    own as it starts; a stop before that ends it at once, which the parent then sees)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    run(settings, True)
