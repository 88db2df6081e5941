"""Per-neuron model parameters: add_neurons(params=...) -> .braindb -> Simulation -> snapshot -> restore."""
import numpy as np
import pytest

from braingo_core.errors import BrainDBFormatError, BuilderError
from braingo_core.sim import Simulation
from braingo_core.storage import BrainDB, BrainDBBuilder
from braingo_core.storage import format as fmt
from sim_nets import assert_same_state


def _net(path, n=40, seed=4):
    rng = np.random.default_rng(seed)
    r = rng.random(n)
    b = BrainDBBuilder(dt_ms=0.5)
    b.add_neuron_type("izh", "izhikevich", scheme="netm")
    b.add_receptor("syn", kind="delta")
    b.add_neurons(n, "izh", params={"c_mV": -65 + 15 * r ** 2, "d": 8 - 6 * r ** 2, "a": 0.02})
    pre, post = np.nonzero(rng.random((n, n)) < 0.2)
    b.add_synapses(pre, post, rng.normal(2.0, 1.0, pre.size), receptor="syn")
    return b.write(path), r


def test_params_stored_compactly_and_used(tmp_path):
    path, r = _net(tmp_path / "p.braindb")
    db = BrainDB(path)
    own = db.neuron_params
    assert set(own["param"].tolist()) == {2, 3}               # "a" equals the type's 0.02: not stored
    assert own.size == 2 * 40 and own.dtype.itemsize == 16
    np.testing.assert_array_equal(own["value"][own["param"] == 2], -65 + 15 * r ** 2)   # bitwise, float64
    sim = Simulation(db)
    np.testing.assert_array_equal(sim._eng.net.params[:, 3], 8 - 6 * r ** 2)
    with pytest.raises(BuilderError, match=r"unknown parameter\(s\) \['tau'\]"):
        b = BrainDBBuilder()
        b.add_neuron_type("x", "lif")
        b.add_neurons(2, "x", params={"tau": [1.0, 2.0]})


def test_params_survive_snapshot_restore(tmp_path):
    path, _ = _net(tmp_path / "p.braindb")
    drive = np.random.default_rng(1).normal(4.0, 3.0, (800, 40))
    full = Simulation(path)
    full.set_input_array(drive)
    full.run(800)
    half = Simulation(path)
    half.set_input_array(drive)
    half.run(330)
    half.save_snapshot(tmp_path / "s.snap")
    cont = Simulation(BrainDB(path))
    cont.load_snapshot(tmp_path / "s.snap")
    cont.set_input_array(drive, start_tick=0)
    cont.run(470)
    assert_same_state(cont, full)
    assert full.n_spikes > 100


def test_version_1_file_reads_with_no_neuron_params(tmp_path):
    b = BrainDBBuilder()
    b.add_neuron_type("l", "lif")
    b.add_neurons(3, "l")
    path = b.write(tmp_path / "v2.braindb")
    raw = bytearray(open(path, "rb").read())
    hdr = np.frombuffer(bytes(raw[:fmt.HEADER_SIZE]), fmt.Header)[0].copy()
    hdr["version"], hdr["n_segments"] = 1, 10
    hdr["segments"][10] = np.zeros((), fmt.SegmentEntry)
    raw[:fmt.HEADER_SIZE] = fmt.pack_header(hdr)
    old = tmp_path / "v1.braindb"
    old.write_bytes(bytes(raw))
    db = BrainDB(old)
    assert db.version == 1 and db.neuron_params.size == 0 and db.verify()
    Simulation(db).run(10)
    hdr["version"] = fmt.VERSION + 1
    raw[:fmt.HEADER_SIZE] = fmt.pack_header(hdr)
    old.write_bytes(bytes(raw))
    with pytest.raises(BrainDBFormatError, match="version is 3; this braingo reads version <= 2"):
        BrainDB(old)
