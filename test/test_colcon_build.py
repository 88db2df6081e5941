"""The repository is a real ament_python ROS 2 package: `colcon build` installs nodes, launch, config, urdf, data,
and each installed executable comes up from install/ in a clean environment (only what setup.bash sets)."""
import os
import shutil
import signal
import subprocess
import sys
import time

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
    # Every parameter file and URDF the launch files name is in the install.
    from braingo_ros import launch_description as ld
    for relative in (f"config/{ld.CONFIG_FILE}", f"config/{ld.RVIZ_FILE}", f"urdf/{ld.URDF_FILE}",
                     "config/caterpillar.yaml", "data/celegans/network/config.json",
                     "launch/caterpillar_sim.launch.py", "launch/robot.launch.py",
                     "launch/caterpillar_gazebo.launch.py"):
        assert (share / relative).is_file(), relative
    run_installed(tmp_path / "ws", lib, tmp_path)


#: Installed executable -> (arguments, text its output shows once it is up; None: it must exit 0).
EXECUTABLES = {
    "brain_node": ([], "ticks of"),
    "muscle_node": ([], "muscles ->"),
    "sensor_node": ([], "stimulus channels"),
    "body_sim_node": ([], "control period"),
    "braingo": (["--help"], None),
    "bringup": (["--help"], None),
}


def clean_shell(ws, command):
    """``command`` in bash with nothing but HOME, a system PATH and what install/setup.bash sets."""
    script = f"source {ws / 'install' / 'setup.bash'} && cd {ws.parent} && exec {command}"
    env = {"HOME": os.environ.get("HOME", "/tmp"), "PATH": "/usr/bin:/bin", "ROS_DOMAIN_ID": "75"}
    return ["bash", "-c", script], env


def run_installed(ws, lib, tmp_path):
    """Start each installed executable from install/ (no source tree on any path) and see it come up; the
    nodes (started together: the brain compiles its kernels into the install on first start) stop on SIGINT
    with status 0. The bundled worm's data are found through the ament prefix."""
    cmd, env = clean_shell(ws, f"{sys.executable} -c 'import braingo_core; print(braingo_core.__file__)'")
    where = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60).stdout.strip()
    assert where.startswith(str(ws / "install")), where
    running = {}
    for exe, (args, marker) in EXECUTABLES.items():
        cmd, env = clean_shell(ws, " ".join([str(lib / exe), *args]))
        log = open(tmp_path / f"{exe}.log", "w+")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        running[exe] = (proc, log, marker)
    deadline = time.monotonic() + 400
    try:
        for exe, (proc, log, marker) in running.items():
            while True:
                log.seek(0)
                text = log.read()
                if marker is None and proc.poll() is not None:
                    assert proc.returncode == 0 and "usage:" in text, (exe, text[-2000:])
                    break
                if marker is not None and marker in text:
                    break
                assert proc.poll() is None and time.monotonic() < deadline, (exe, proc.poll(), text[-3000:])
                time.sleep(0.2)
        for exe, (proc, log, marker) in running.items():
            if marker is not None:
                proc.send_signal(signal.SIGINT)
                assert proc.wait(timeout=30) == 0, (exe, open(log.name).read()[-3000:])
                assert "Traceback" not in open(log.name).read(), exe
    finally:
        for proc, log, _marker in running.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            log.close()
