"""The pytest plugin's output as a user outside this repository sees it: no totals line of
our own inside pytest's report, no pytest-asyncio start-up warning."""
from __future__ import annotations

import os
import subprocess
import sys

BAD = "name: bad one\nsteps:\n  - check: {value: 1, expect: 2, message: one is not two}\n"
GOOD = "name: good one\nsteps:\n  - send: {action: Heartbeat}\n"


def test_pytest_output_is_clean(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "bad.yaml").write_text(BAD)
    (folder / "good.yaml").write_text(GOOD)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")   # a project with no asyncio settings
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    # installed plugins load as they would for a user (ours by its entry point, pytest-asyncio)
    result = subprocess.run([sys.executable, "-m", "pytest",
                             "-p", "no:cacheprovider", "--scenarios", "scenarios"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "1 failed, 1 passed" in out
    assert "asyncio_default_fixture_loop_scope\" is unset" not in out
    assert "PytestDeprecationWarning" not in out
    assert " passed, 1 failed" not in out and "0 passed" not in out   # no totals of our own
    assert "bad.yaml:3: step 'check': one is not two (check failed: 1 is not 2)" in out
