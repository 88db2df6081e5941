"""The linter as a test (ros2/examples style): flake8 over the package, tools, benches, launch files and tests."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATHS = ("braingo_core", "braingo_ros", "bench", "tools", "launch", "test", "examples", "setup.py")


def test_flake8_clean():
    pytest.importorskip("flake8")
    paths = [p for p in PATHS if os.path.exists(os.path.join(ROOT, p))]
    proc = subprocess.run([sys.executable, "-m", "flake8", *paths], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"flake8 found problems:\n{proc.stdout}{proc.stderr}"
