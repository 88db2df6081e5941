"""Hostile command-line values: each is refused with exit status 2 and one error line, never a traceback."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from braingo_core.cli import main
from braingo_core.cli.storage_cmds import build_random
from braingo_core.sim import Simulation
from braingo_core.storage import BrainDB

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    return str(build_random(tmp_path_factory.mktemp("h") / "n.braindb", 50, 0.1))


@pytest.mark.parametrize("argv, message", [
    (["-d", "1e20"], "outside"), (["-d", "nan"], "outside"), (["--seed", "2^64"], "not a decimal integer"),
    (["--seed", str(2 ** 64)], "outside"), (["--stimulus", "²:5"], "unknown neuron '²'"),
    (["--stimulus", "0:1e308,0:1e308"], "not a finite"), (["--every", "0"], "outside"),
    (["--stimulus", "99999999999999999999999:1"], "out of range"),
])
def test_run_rejects(net, argv, message, capsys):
    assert main(["run", net, "--no-progress", "-d", "1"] + argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["--seed", "-1"], "outside"), (["--dt", "1e-300"], "outside"), (["--dt", "0"], "outside"),
    (["--delay-ms", "1e19"], "outside"), (["--delay-ms", "1e5"], "exceeds 65535 ticks"),
    (["--neurons", "1000000", "--p-connect", "1"], "holds at most"),
    (["--neurons", "60000", "--p-connect", "1"], "GiB"), (["--p-connect", "2"], "outside"),
    (["--neurons", "1e8"], "not a decimal integer"),
])
def test_build_rejects(tmp_path, argv, message, capsys):
    assert main(["build", str(tmp_path / "x.braindb")] + argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.braindb").exists()


def test_stimulus_repeats_are_summed(net, tmp_path):
    """One rule for a neuron listed twice, shared with the ROS tonic_stimulus: the currents add up."""
    once, twice = tmp_path / "once.snap", tmp_path / "twice.snap"
    assert main(["snapshot", net, "-d", "5", "--stimulus", "3:300", "--out", str(once)]) == 0
    assert main(["snapshot", net, "-d", "5", "--stimulus", "3:100,3:200", "--out", str(twice)]) == 0
    a, b = Simulation(net), Simulation(net)
    a.load_snapshot(once)
    b.load_snapshot(twice)
    assert a._eng.i_ext[3] == b._eng.i_ext[3] == 300.0
    assert np.array_equal(a.voltages_mV(), b.voltages_mV())


def test_no_verify_opens_unchecked(net, tmp_path, capsys):
    bad = tmp_path / "bad.braindb"
    raw = bytearray(open(net, "rb").read())
    e = BrainDB(net).header["segments"][4]                 # synapses: a flipped weight bit
    raw[int(e["offset"]) + 5] ^= 0x01
    bad.write_bytes(bytes(raw))
    assert main(["info", str(bad)]) == 2 and "checksum mismatch" in capsys.readouterr().err
    assert main(["info", str(bad), "--no-verify"]) == 0


@pytest.mark.slow
def test_ctrl_c_stops_a_run_without_progress_bar(net):
    proc = subprocess.Popen([sys.executable, "-m", "braingo_core.cli", "run", net, "-d", "1e9", "--no-progress"],
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert "kernels ready" in proc.stdout.readline()
    time.sleep(0.5)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=60)
    assert rc == 130 and "interrupted" in proc.stderr.read()
    assert time.monotonic() - t0 < 60
