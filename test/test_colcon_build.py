"""The repository is a real ament_python ROS 2 package: `colcon build` installs nodes, launch, config, urdf, data."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLCON = os.path.join(os.path.dirname(sys.executable), "colcon")
IGNORE = shutil.ignore_patterns(".venv", ".git", "build", "install", "log", "runs", "__pycache__", "*.egg-info",
                                ".pytest_cache", "*.braindb", "*.snapshot")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(COLCON), reason="colcon is not installed (pip install '.[dev]')")
def test_colcon_build_installs_package(tmp_path):
    src = tmp_path / "ws" / "src" / "braingo_ros"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([COLCON, "build", "--base-paths", "src"], cwd=tmp_path / "ws", env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    install = tmp_path / "ws" / "install" / "braingo_ros"
    lib = install / "lib" / "braingo_ros"
    for exe in ("braingo", "brain_node", "muscle_node", "sensor_node", "body_sim_node", "bringup"):
        assert (lib / exe).exists(), exe
    share = install / "share" / "braingo_ros"
    assert (share / "package.xml").exists()
    assert (install / "share" / "ament_index" / "resource_index" / "packages" / "braingo_ros").exists()
    for folder in ("launch", "config", "urdf", "data"):
        files = [f for _, _, fs in os.walk(share / folder) for f in fs]
        assert files, f"nothing installed under share/braingo_ros/{folder}"
