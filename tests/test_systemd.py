"""The systemd unit (deploy/systemd/goclassify.service): valid, hardened, and its stop fits our stop."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.launcher import ROOT, STOP_GRACE_SECONDS
from proxy.settings import Settings
from tests.conftest import skip_unless_required

UNIT = ROOT / "deploy" / "systemd" / "goclassify.service"
INSTALLED_AT = "/opt/goclassify"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "RestrictNamespaces": "yes",
    "CapabilityBoundingSet": "",
}


def service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def here(tmp_path: Path) -> Path:
    """The unit pointed at this checkout, so that systemd can check its ExecStart and paths exist."""
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED_AT, str(ROOT)))
    return unit


@pytest.fixture
def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        skip_unless_required("systemd-analyze is not installed (Debian package systemd)")
    return tool


def test_the_unit_verifies(analyze, tmp_path):
    result = subprocess.run([analyze, "verify", str(here(tmp_path))], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_unit_is_hardened(analyze, tmp_path):
    section = service()
    assert section["User"] not in ("", "root") and section["Restart"] == "on-failure"
    for key, value in HARDENING.items():
        assert section[key] == value, key
    result = subprocess.run(
        [analyze, "security", "--offline=yes", str(here(tmp_path))], capture_output=True, text=True, timeout=60
    )
    exposure = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert exposure and float(exposure.group(1)) <= 4.0, result.stdout[-2000:]  # systemd's "OK" band


def test_the_stop_signals_the_launcher_and_waits_for_its_ordered_stop():
    section = service()
    # SIGTERM to the launcher alone; it stops the proxy (draining) and then TorchServe itself.
    assert section["KillMode"] == "mixed" and section["KillSignal"] == "SIGTERM"
    assert "-m harness" in section["ExecStart"]
    needed = Settings().shutdown_timeout + STOP_GRACE_SECONDS
    assert float(section["TimeoutStopSec"]) >= needed
