"""A fresh install with no config sends events to the console (the embedded default)."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args: str, cwd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "TOCSIN_CONFIG"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60
    )


def test_send_without_config_prints_to_console(tmp_path):
    result = run_cli("send", "job_failed", "-d", "run_name=nightly", "-d", "error=disk full", cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "❌ Job failed: nightly" in result.stdout
    assert "disk full" in result.stdout
    assert "console  delivered" in result.stderr
