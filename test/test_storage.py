"""BrainDBBuilder + BrainDB: round trips, CSR, read-only mmap, and every bad-input case."""
import os
import stat
import zlib

import numpy as np
import pytest

from braingo_core.errors import BrainDBChecksumError, BrainDBFormatError, BuilderError, StorageWriteError
from braingo_core.storage import BrainDB, BrainDBBuilder
from braingo_core.storage import format as fmt
from braingo_core.storage import records as rec


def test_round_trip(small_db_path):
    db = BrainDB(small_db_path)
    assert db.neuron_count() == 20 and db.synapse_count() == 80 and db.gap_junction_count() == 3
    assert db.compartment_count() == 20
    assert db.get_neuron_name(0) == "N00" and db.get_all_neuron_names()[-1] == "N19"
    assert db.neuron_id("N07") == 7 and db.neuron_id("7") == 7 and db.neuron_id(7) == 7
    assert db.dt_ms == 0.1
    assert list(db.neurons(cls="sensory")) == [0, 1, 2, 3, 4]
    assert db.metadata["region_names"] == ["head", "tail"]
    assert list(db.regions["n_neurons"]) == [10, 10]
    assert db.verify()


def test_csr_matches_synapse_list(small_db_path):
    db = BrainDB(small_db_path)
    pre = db.synapses["pre_neuron"]
    assert np.all(np.diff(pre.astype(np.int64)) >= 0)
    for i in range(db.neuron_count()):
        out = db.out_synapses(i)
        assert np.all(out["pre_neuron"] == i)
        assert len(out) == int(np.sum(pre == i))
        start, stop = db.out_synapse_range(i)
        assert np.array_equal(db.col_idx[start:stop], out["post_neuron"])
        inn = db.in_synapses(i)
        assert np.all(db.synapses["post_neuron"][inn] == i)
        assert len(inn) == int(np.sum(db.synapses["post_neuron"] == i))
    assert db.ring_size == int(db.synapses["delay_ticks"].max()) + 1


def test_static_segments_are_read_only_memmaps(small_db_path):
    db = BrainDB(small_db_path)
    for seg in (db.neuron_attrs, db.synapses, db.row_ptr, db.col_idx, db.gap_junctions):
        assert isinstance(seg, np.memmap)
        with pytest.raises(ValueError):
            seg[0] = seg[0]


def test_compartment_tree_and_global_ids(tmp_path):
    b = BrainDBBuilder()
    t = b.add_neuron_type("c", model="celegans")
    b.add_neuron("P", t)
    b.add_neuron("Q", t, compartments=[dict(kind="soma", length_um=3, diam_um=3, gbar_S_cm2=np.full(16, 1e-4)),
                                       dict(parent=0, kind="neurite", length_um=150, diam_um=0.5)])
    r = b.add_receptor("g", kind="graded")
    b.add_synapse("P", "Q", 1.0, receptor=r, syn_type="graded", post_comp=1)
    b.add_gap_junction("P", "Q", 0.01, comp_b=1)
    db = BrainDB(b.write(tmp_path / "c.braindb"))
    assert list(db.neuron_attrs["first_comp_id"]) == [0, 1]
    assert list(db.compartments["parent"]) == [-1, -1, 1]
    assert db.synapses[0]["post_comp"] == 2 and db.synapses[0]["pre_comp"] == rec.NO_COMP
    assert db.synapses[0]["syn_type"] == rec.SYN_GRADED and db.synapses[0]["syn_mode"] == 1
    assert db.gap_junctions[0]["post_comp"] == 2
    assert np.allclose(db.compartments[1]["gbar_S_cm2"], 1e-4)


def test_bulk_and_single_give_identical_files(tmp_path):
    def make(bulk):
        b = BrainDBBuilder(0.1)
        t = b.add_neuron_type("lif")
        b.add_receptor("exc")
        b.add_neurons(5, t)
        pre, post, w = [3, 0, 3, 1], [1, 2, 0, 4], [1.0, 2.0, 3.0, 4.0]
        if bulk:
            b.add_synapses(pre, post, w, [0.5] * 4)
        else:
            for a, c, x in zip(pre, post, w):
                b.add_synapse(a, c, x, 0.5)
        return open(b.write(tmp_path / f"{bulk}.braindb"), "rb").read()
    assert make(True) == make(False)


def test_stable_sort_keeps_insertion_order_within_a_row(tmp_path):
    b = BrainDBBuilder()
    t = b.add_neuron_type("lif")
    b.add_receptor("exc")
    b.add_neurons(3, t)
    b.add_synapses([2, 1, 2, 1], [0, 0, 1, 2], [1, 2, 3, 4])
    db = BrainDB(b.write(tmp_path / "s.braindb"))
    assert list(db.synapses["base_weight"]) == [2, 4, 1, 3]


@pytest.mark.parametrize("call,match", [
    (lambda b: b.add_synapse(0, 99, 1.0), "out of range"),
    (lambda b: b.add_synapse(-1, 0, 1.0), "out of range"),
    (lambda b: b.add_synapse("NOPE", 0, 1.0), "unknown neuron 'NOPE'"),
    (lambda b: b.add_neuron("A", 0), "duplicate neuron name 'A'"),
    (lambda b: b.add_neuron_type("t"), "duplicate neuron type"),
    (lambda b: b.add_neuron_type("u", model="nope"), "unknown neuron model"),
    (lambda b: b.add_neuron_type("u", model="lif", params={"tau": 1}), "unknown parameter"),
    (lambda b: b.add_synapse(0, 1, float("nan")), "non-finite"),
    (lambda b: b.add_synapse(0, 1, 1.0, delay_ms=-1), "delay_ms"),
    (lambda b: b.add_synapse(0, 1, 1.0, delay_ms=1e6), "exceeds"),
    (lambda b: b.add_synapse(0, 1, 1.0, receptor=7), "receptor id 7"),
    (lambda b: b.add_synapse(0, 1, 1.0, post_comp=3), "compartment index"),
    (lambda b: b.add_gap_junction(0, 0, 1.0), "itself"),
    (lambda b: b.add_gap_junction(0, 1, -1.0), "weight_nS"),
    (lambda b: b.add_neuron("C", 0, compartments=[{}, {"parent": 5}]), "parent"),
    (lambda b: b.add_neuron("C", 0, cm_pF=0), "cm_pF"),
    (lambda b: b.add_neurons(2, 0, names=["X"]), "1 names for 2"),
])
def test_builder_rejects_bad_input(call, match):
    b = BrainDBBuilder()
    b.add_neuron_type("t")
    b.add_receptor("r")
    b.add_neuron("A", 0)
    b.add_neuron("B", 0)
    with pytest.raises(BuilderError, match=match):
        call(b)


def test_builder_rejects_bad_dt():
    with pytest.raises(BuilderError, match="dt_ms"):
        BrainDBBuilder(dt_ms=0)


def test_write_to_directory_or_unwritable_path(tmp_path):
    b = BrainDBBuilder()
    b.add_neuron_type("t")
    b.add_neuron("A", 0)
    with pytest.raises(StorageWriteError, match="is a directory"):
        b.write(tmp_path)
    with pytest.raises(StorageWriteError, match="does not exist"):
        b.write(tmp_path / "missing" / "x.braindb")
    if os.geteuid() != 0:  # root ignores permission bits
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
        with pytest.raises(StorageWriteError, match="not writable"):
            b.write(ro / "x.braindb")


def _corrupt(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def test_wrong_magic(small_db_path):
    _corrupt(small_db_path, 0, b"NOTADB!!")
    with pytest.raises(BrainDBFormatError, match="magic"):
        BrainDB(small_db_path)


def test_newer_version(small_db_path):
    _corrupt(small_db_path, 8, np.uint32(fmt.VERSION + 1).tobytes())
    with pytest.raises(BrainDBFormatError, match="version"):
        BrainDB(small_db_path)


def test_header_corruption(small_db_path):
    _corrupt(small_db_path, 16, b"\x07")
    with pytest.raises(BrainDBFormatError, match="header checksum"):
        BrainDB(small_db_path)


def test_truncated_file(small_db_path):
    size = os.path.getsize(small_db_path)
    with open(small_db_path, "r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(BrainDBFormatError, match="truncated"):
        BrainDB(small_db_path)
    with open(small_db_path, "r+b") as f:
        f.truncate(100)
    with pytest.raises(BrainDBFormatError, match="truncated header"):
        BrainDB(small_db_path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(BrainDBFormatError, match="no such file"):
        BrainDB(tmp_path / "nope.braindb")
    with pytest.raises(BrainDBFormatError, match="directory"):
        BrainDB(tmp_path)


@pytest.mark.parametrize("segment", [s for s in fmt.SEGMENTS])
def test_flipped_byte_in_every_segment(small_db_path, segment):
    db = BrainDB(small_db_path)
    e = db.header["segments"][fmt.SEGMENTS.index(segment)]
    off = int(e["offset"]) + int(e["length"]) // 2
    del db
    with open(small_db_path, "rb") as f:
        f.seek(off)
        byte = f.read(1)
    _corrupt(small_db_path, off, bytes([byte[0] ^ 0x5A]))
    with pytest.raises(BrainDBChecksumError, match=f"segment {segment} checksum"):
        BrainDB(small_db_path).verify()


def test_corrupt_metadata_json(tmp_path):
    b = BrainDBBuilder()
    b.add_neuron_type("t")
    b.add_neuron("A", 0)
    path = b.write(tmp_path / "m.braindb")
    db = BrainDB(path)
    e = db.header["segments"][fmt.SEGMENTS.index("metadata")]
    _corrupt(path, int(e["offset"]), b"X")
    with pytest.raises(BrainDBChecksumError, match="metadata"):
        BrainDB(path)
    # Invalid JSON whose checksum was updated too: still a clear format error naming the segment.
    hdr = db.header.copy()
    del db
    with open(path, "rb") as f:
        f.seek(int(e["offset"]))
        meta = f.read(int(e["length"]))
    hdr["segments"][fmt.SEGMENTS.index("metadata")]["checksum"] = fmt.checksum(meta)
    _corrupt(path, 0, fmt.pack_header(hdr))
    with pytest.raises(BrainDBFormatError, match="metadata is not valid JSON"):
        BrainDB(path).metadata


def test_builder_metadata_must_be_json(tmp_path):
    b = BrainDBBuilder()
    b.add_neuron_type("t")
    b.metadata["bad"] = object()
    with pytest.raises(BuilderError, match="JSON"):
        b.write(tmp_path / "x.braindb")


def test_open_verifies_every_segment_unless_opted_out(tmp_path):
    """A flip in a large synapse segment is refused on open; verify=False maps it unread."""
    b = BrainDBBuilder()
    b.add_neuron_type("t")
    b.add_neurons(100, 0)
    b.add_receptor("exc")
    rng = np.random.default_rng(0)
    b.add_synapses(rng.integers(0, 100, 50_000), rng.integers(0, 100, 50_000), np.ones(50_000))
    path = b.write(tmp_path / "big.braindb")
    e = BrainDB(path).header["segments"][fmt.SEGMENTS.index("synapses")]
    assert int(e["length"]) > (1 << 20)
    _corrupt(path, int(e["offset"]) + 1000, b"\xff\xff")
    with pytest.raises(BrainDBChecksumError, match="segment synapses checksum"):
        BrainDB(path)
    db = BrainDB(path, verify=False)
    assert db.synapse_count() == 50_000 and not db.verified
    with pytest.raises(BrainDBChecksumError, match="synapses"):
        db.verify()


@pytest.mark.parametrize("offset", [88, 95, 96 + 32 * len(fmt.SEGMENTS), 503, 508, 511])
def test_reserved_header_bytes_are_checked(small_db_path, offset):
    """A byte the CRC does not cover (508..511), or one it covers but no field uses, must be zero."""
    with open(small_db_path, "rb") as f:
        raw = bytearray(f.read(fmt.HEADER_SIZE))
    raw[offset] ^= 0x01
    if offset < fmt.HEADER_CRC_SPAN:        # recompute the CRC: only the reserved-byte check can refuse it
        raw[504:508] = np.uint32(zlib.crc32(bytes(raw[:fmt.HEADER_CRC_SPAN]))).tobytes()
    _corrupt(small_db_path, 0, bytes(raw))
    with pytest.raises(BrainDBFormatError, match="reserved header bytes .* are not zero"):
        BrainDB(small_db_path, verify=False)


def test_alignment_gaps_and_trailing_bytes_are_checked(small_db_path):
    db = BrainDB(small_db_path)
    e = db.header["segments"][fmt.SEGMENTS.index("row_ptr")]     # 21 x 8 B: followed by a 24-byte gap
    end = int(e["offset"]) + int(e["length"])
    assert end % fmt.ALIGN
    del db
    _corrupt(small_db_path, end, b"\x01")
    with pytest.raises(BrainDBFormatError, match="gap bytes"):
        BrainDB(small_db_path, verify=False)


def test_trailing_data_is_refused(small_db_path):
    with open(small_db_path, "ab") as f:
        f.write(b"\0" * 64)
    with pytest.raises(BrainDBFormatError, match="trailing data"):
        BrainDB(small_db_path, verify=False)


def test_segment_attributes_are_properties(small_db_path):
    """Readers (and help()) see every segment accessor; nothing is resolved through __getattr__."""
    db = BrainDB(small_db_path)
    for name in ("neuron_attrs", "compartments", "row_ptr", "col_idx", "synapses", "gap_junctions", "regions",
                 "neuron_types", "receptors"):
        assert isinstance(getattr(BrainDB, name), property), name
    assert not hasattr(BrainDB, "__getattr__")
    with pytest.raises(AttributeError):
        db.neurons_segment
