"""Every node executable exits 0, without a traceback or an error log, on SIGINT and on SIGTERM (what Ctrl-C,
systemd and docker send); the brain flushes a final snapshot when snapshots are on."""
import os
import signal
import subprocess
import sys
import time

import pytest

from braingo_ros.snapshots import list_snapshots

pytestmark = pytest.mark.ros
DOMAIN_ID = 73
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Node -> (extra ROS arguments, a log line printed once the node is up).
NODES = {
    "brain_node": (["step_on_stimulus:=false", "model:=''"], "ticks of"),
    "muscle_node": ([], "muscles ->"),
    "sensor_node": ([], "stimulus channels"),
    "body_sim_node": ([], "control period"),
}
BAD_WORDS = ("Traceback", "FATAL", "ERROR", "KeyboardInterrupt", "context is invalid")


def start(node, tmp_path, extra=()):
    args, _marker = NODES[node]
    ros_args = [*args, *extra]
    if node == "brain_node":
        ros_args += [f"database:={tmp_path / 'small.braindb'}", f"snapshot_root:={tmp_path}"]
    log = open(tmp_path / f"{node}.log", "w+")
    cmd = [sys.executable, "-m", f"braingo_ros.{node}", "--ros-args", *[a for p in ros_args for a in ("-p", p)]]
    env = dict(os.environ, ROS_DOMAIN_ID=str(DOMAIN_ID), PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return proc, log


def wait_up(proc, log, marker, timeout_s=240.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log.seek(0)
        if marker in log.read():
            return True
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    log.seek(0)
    raise AssertionError(f"node did not come up (rc {proc.poll()}):\n{log.read()[-3000:]}")


def stop(proc, log, sig):
    time.sleep(0.3)                     # let it run a few periods / callbacks
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    log.seek(0)
    return rc, log.read()


@pytest.fixture
def small_db(tmp_path, small_db_path):
    os.replace(small_db_path, tmp_path / "small.braindb")
    return tmp_path / "small.braindb"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("node", list(NODES))
def test_node_exits_cleanly_on_signal(node, sig, tmp_path, small_db):
    proc, log = start(node, tmp_path)
    wait_up(proc, log, NODES[node][1])
    rc, text = stop(proc, log, sig)
    assert rc == 0, text[-3000:]
    assert not [w for w in BAD_WORDS if w in text], text[-3000:]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_brain_flushes_a_final_snapshot(sig, tmp_path, small_db):
    proc, log = start("brain_node", tmp_path, ["snapshot_dir:=rolling", "snapshot_period_s:=100.0"])
    wait_up(proc, log, NODES["brain_node"][1])
    rc, text = stop(proc, log, sig)
    assert rc == 0 and "final snapshot at tick" in text, text[-3000:]
    assert len(list_snapshots(str(tmp_path / "rolling"))) == 1      # the period (100 s) never came round


@pytest.mark.slow
def test_shutdown_race_repeated(tmp_path, small_db):
    """The brain publishing every 10 ms while the signal lands: 10 runs per signal, all clean."""
    for k in range(20):
        sig = (signal.SIGINT, signal.SIGTERM)[k % 2]
        proc, log = start("brain_node", tmp_path)
        wait_up(proc, log, NODES["brain_node"][1])
        rc, text = stop(proc, log, sig)
        assert rc == 0 and not [w for w in BAD_WORDS if w in text], (k, sig, text[-3000:])
