"""Fuzzing the .braindb and snapshot readers: random byte flips and crafted mutants (checksums recomputed).

Counts per kind: tracebacks (an exception that is not a BrainGoError), hangs (a mutant over HANG_S), and
accepted-corrupt files (opened and run although an independent invariant check fails, or, for byte flips,
although the bytes differ from the original). All three must be 0. Seeded and bounded (~10 s).
"""
import faulthandler
import json
import time
import zlib

import numpy as np
import pytest

from braingo_core.errors import BrainGoError, SnapshotError
from braingo_core.storage import BrainDB, load_snapshot
from braingo_core.storage import format as fmt
from braingo_core.storage import records as rec
from conftest import build_small_db

HANG_S = 5.0
N_FLIPS, N_CRAFTED = 500, 500          # per file kind: 2,000 mutants in all
INTERESTING = (0, 1, -1, 2, 7, 19, 20, 21, 255, 65535, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 63, float("nan"),
               float("inf"), -float("inf"), 1e308, 5e-324, -0.0, 0.5)


# ------------------------------------------------------------------ crafting helpers
def _pick(rng, items):
    items = list(items)
    return items[int(rng.integers(len(items)))]


def reseal_braindb(raw):
    """Recompute every segment checksum and the header CRC of a (mutated) .braindb image."""
    raw = bytearray(raw)
    hdr = np.frombuffer(bytes(raw[:fmt.HEADER_SIZE]), fmt.Header)[0]
    for slot in range(len(fmt.SEGMENTS)):
        e = hdr["segments"][slot]
        off, length = int(e["offset"]), int(e["length"])
        if off + length <= len(raw):
            base = 96 + 32 * slot + 16
            raw[base:base + 8] = np.uint64(fmt.checksum(bytes(raw[off:off + length]))).tobytes()
    raw[504:508] = np.uint32(zlib.crc32(bytes(raw[:fmt.HEADER_CRC_SPAN]))).tobytes()
    return bytes(raw)


def set_header_field(raw, field, value):
    raw = bytearray(raw)
    fdt, off = fmt.Header.fields[field][:2]
    raw[off:off + fdt.itemsize] = np.array(value).astype(fdt, casting="unsafe").tobytes()
    return bytes(raw)


def craft_braindb(raw, rng):
    """A record field, header field or segment-table entry set to an interesting value, then resealed."""
    hdr = np.frombuffer(raw[:fmt.HEADER_SIZE], fmt.Header)[0]
    value = INTERESTING[rng.integers(len(INTERESTING))]
    kind = rng.integers(3)
    if kind == 0:
        field = _pick(rng, [f for f in fmt.Header.names if f not in ("magic", "segments", "header_crc32")])
        return reseal_braindb(set_header_field(raw, field, value))
    if kind == 1:
        slot = int(rng.integers(len(fmt.SEGMENTS)))
        key = _pick(rng, ["offset", "length", "count", "itemsize"])
        fdt, off = fmt.SegmentEntry.fields[key][:2]
        out = bytearray(raw)
        pos = 96 + 32 * slot + off
        out[pos:pos + fdt.itemsize] = np.array(value).astype(fdt, casting="unsafe").tobytes()
        return reseal_braindb(bytes(out))
    dtypes = {"neurons": rec.NeuronAttr, "compartments": rec.CompartmentAttr, "row_ptr": np.dtype("<u8"),
              "col_idx": np.dtype("<u4"), "synapses": rec.SynapseAttr, "gap_junctions": rec.GapJunction,
              "regions": rec.Region, "neuron_types": rec.NeuronType, "receptors": rec.ReceptorType}
    name = _pick(rng, list(dtypes))
    slot = fmt.SEGMENTS.index(name)
    e = hdr["segments"][slot]
    dt = dtypes[name]
    arr = np.frombuffer(raw, dt, int(e["count"]), int(e["offset"])).copy()
    if not len(arr):
        return reseal_braindb(raw)
    k = int(rng.integers(len(arr)))
    if dt.names:
        field = _pick(rng, dt.names)
        cell = arr[field][k]
        arr[field][k] = np.array(value).astype(np.asarray(cell).dtype, casting="unsafe")
    else:
        arr[k] = np.array(value).astype(dt, casting="unsafe")
    out = bytearray(raw)
    out[int(e["offset"]):int(e["offset"]) + arr.nbytes] = arr.tobytes()
    return reseal_braindb(bytes(out))


def oracle_braindb(db):
    """Independent invariants of an accepted file (plain loops; what the engine relies on)."""
    n, ns = db.neuron_count(), db.synapse_count()
    nr, syn, rp = db.neuron_attrs, db.synapses, np.asarray(db.row_ptr, np.int64)
    assert 1e-4 <= db.dt_ms <= 100 and db.ring_size == db.header["max_delay_ticks"] + 1
    assert len(db.regions) == db.header["n_regions"] and len(db.receptors) == db.header["n_receptors"]
    total = 0
    for i in range(n):
        assert nr["id"][i] == i and nr["n_compartment"][i] >= 1 and nr["first_comp_id"][i] == total
        assert nr["cm_pF"][i] > 0 and nr["neuron_type"][i] < len(db.neuron_types)
        total += int(nr["n_compartment"][i])
    assert total == db.compartment_count() and rp[0] == 0 and rp[-1] == ns
    for i in range(n):
        rows = syn[rp[i]:rp[i + 1]]
        assert (rows["pre_neuron"] == i).all() and (rows["post_neuron"] < n).all()
    assert (np.asarray(db.col_idx) == syn["post_neuron"]).all()
    assert (syn["receptor_type"] < len(db.receptors)).all() and np.isfinite(syn["base_weight"]).all()
    assert (syn["delay_ticks"] <= db.header["max_delay_ticks"]).all()
    g = db.gap_junctions
    assert (g["pre"] < n).all() and (g["post"] < n).all() and np.isfinite(g["weight_nS"]).all()
    assert all(int(t["model"]) in (0, 1, 2, 3, 4) for t in db.neuron_types)
    assert isinstance(db.metadata, dict) and len(db.get_all_neuron_names()) == n


def craft_snapshot(raw, rng):
    """Rewrite the JSON table (entries, types, values) or header fields, or an array value; reseal."""
    hdr = bytearray(raw[:128])
    tlen = int(np.frombuffer(raw[96:104], "<u8")[0])
    table = json.loads(raw[128:128 + tlen])
    data = bytearray(raw[fmt.align(128 + tlen):])
    value = INTERESTING[rng.integers(len(INTERESTING))]
    choice = rng.integers(6)
    entry = table["arrays"][int(rng.integers(len(table["arrays"])))]
    if choice == 0:
        key = _pick(rng, sorted(entry))
        entry[key] = _pick(rng, [value if np.isfinite(value) else None, "x", [value if np.isfinite(value) else 1],
                                 {"a": 1}, -1, 2 ** 62, "|O", "<f8", [[1, 2]], True])
    elif choice == 1:
        if rng.integers(2):
            table["arrays"].remove(entry)
        else:
            table["arrays"].append(dict(entry))
    elif choice == 2:
        table[_pick(rng, ["arrays", "extra"])] = _pick(rng, [None, 1, "x", [], {}])
    elif choice == 3:
        table["extra"]["n_spikes"] = _pick(rng, ["x", [1], None, 1.5, -1])
    elif choice == 4:
        field = _pick(rng, ["version", "n_arrays", "tick", "dt_ms", "table_len"])
        fdt, off = {"version": ("<u4", 8), "n_arrays": ("<u4", 12), "tick": ("<u8", 16), "dt_ms": ("<f8", 24),
                    "table_len": ("<u8", 96)}[field]
        hdr[off:off + np.dtype(fdt).itemsize] = np.array(value).astype(fdt, casting="unsafe").tobytes()
    else:
        if entry["nbytes"] and entry["dtype"] in ("<f8", "<f4"):
            a = np.frombuffer(data, entry["dtype"], entry["nbytes"] // np.dtype(entry["dtype"]).itemsize,
                              entry["offset"]).copy()
            a[int(rng.integers(len(a)))] = value
            data[entry["offset"]:entry["offset"] + a.nbytes] = a.tobytes()
            entry["checksum"] = fmt.checksum(a)
    body = json.dumps(table, separators=(",", ":")).encode()
    if choice != 4 or field != "table_len":
        hdr[96:104] = np.uint64(len(body)).tobytes()
    hdr[104:108] = np.uint32(zlib.crc32(body)).tobytes()
    hdr[108:112] = np.uint32(zlib.crc32(bytes(hdr[:108]))).tobytes()
    pad = bytes(fmt.align(128 + len(body)) - 128 - len(body))
    return bytes(hdr) + body + pad + bytes(data)


# ------------------------------------------------------------------ the run
class Tally:
    def __init__(self):
        self.counts = dict(mutants=0, refused=0, accepted=0, tracebacks=0, hangs=0, accepted_corrupt=0)
        self.examples = []

    def run(self, what, fn):
        self.counts["mutants"] += 1
        t0 = time.perf_counter()
        try:
            accepted_ok = fn()
        except BrainGoError:
            self.counts["refused"] += 1
        except AssertionError as exc:
            self.counts["accepted_corrupt"] += 1
            self.examples.append(f"{what}: accepted corrupt ({exc})")
        except Exception as exc:                    # noqa: BLE001 - counting, then the test fails on it
            self.counts["tracebacks"] += 1
            self.examples.append(f"{what}: {type(exc).__name__}: {exc}")
        else:
            self.counts["accepted"] += 1
            if not accepted_ok:
                self.counts["accepted_corrupt"] += 1
                self.examples.append(f"{what}: accepted with different bytes")
        if time.perf_counter() - t0 > HANG_S:
            self.counts["hangs"] += 1
            self.examples.append(f"{what}: took {time.perf_counter() - t0:.1f} s")


@pytest.fixture(scope="module")
def sim_module():
    from braingo_core.sim import Simulation
    return Simulation


def test_fuzz_braindb_and_snapshot(tmp_path, sim_module):
    faulthandler.dump_traceback_later(600, exit=True)     # a real hang dumps its stack instead of blocking CI
    try:
        _fuzz(tmp_path, sim_module)
    finally:
        faulthandler.cancel_dump_traceback_later()


@np.errstate(invalid="ignore", over="ignore")
def _fuzz(tmp_path, Simulation):
    rng = np.random.default_rng(20261202)
    good_path = build_small_db(str(tmp_path / "good.braindb"))
    good = open(good_path, "rb").read()
    sim = Simulation(good_path)
    sim.set_neuron_input(0, 300.0)
    sim.run(50)
    snap_path = tmp_path / "good.snapshot"
    sim.save_snapshot(snap_path)
    good_snap = open(snap_path, "rb").read()
    mutant = tmp_path / "m.braindb"
    msnap = tmp_path / "m.snapshot"
    db_tally, snap_tally = Tally(), Tally()

    def open_db(data, flip):
        mutant.write_bytes(data)
        db = BrainDB(mutant)
        oracle_braindb(db)
        s = Simulation(db)
        s.run(5)
        assert np.isfinite(s.voltages_mV()).all()
        return not flip or data == good

    def open_snap(data, flip):
        msnap.write_bytes(data)
        snap = load_snapshot(msnap)
        s = Simulation(good_path)
        s.load_snapshot(msnap)
        try:
            s.run(5)
        except BrainGoError:                # a crafted but valid state may diverge: refused with a clear error
            pass
        return not flip or (data == good_snap and snap.tick == 50)

    for k in range(N_FLIPS):
        for raw, tally, fn in ((good, db_tally, open_db), (good_snap, snap_tally, open_snap)):
            data = bytearray(raw)
            for _ in range(int(rng.integers(1, 4))):
                data[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
            tally.run(f"flip {k}", lambda d=bytes(data): fn(d, True))
    for k in range(N_CRAFTED):
        db_tally.run(f"crafted db {k}", lambda d=craft_braindb(good, rng): open_db(d, False))
        snap_tally.run(f"crafted snapshot {k}", lambda d=craft_snapshot(good_snap, rng): open_snap(d, False))
    report = {"braindb": db_tally.counts, "snapshot": snap_tally.counts}
    print("fuzz counts:", json.dumps(report))
    for tally in (db_tally, snap_tally):
        assert tally.counts["mutants"] >= 1000
        assert tally.counts["tracebacks"] == tally.counts["hangs"] == tally.counts["accepted_corrupt"] == 0, \
            tally.examples[:10]
        assert tally.counts["refused"] > 0


@pytest.mark.parametrize("edit, match", [
    (lambda t, h: h.__setitem__(slice(8, 12), b"\0\0\0\0"), "version is 0"),
    (lambda t, h: h.__setitem__(slice(12, 16), np.uint32(99).tobytes()), "n_arrays"),
    (lambda t, h: h.__setitem__(slice(16, 24), np.uint64(7).tobytes()), "does not match header field tick"),
    (lambda t, h: t["arrays"][0].__setitem__("dtype", "|O"), "dtype"),
    (lambda t, h: t["arrays"][0].__setitem__("shape", [-1]), "shape"),
    (lambda t, h: t["arrays"][0].__setitem__("shape", [2 ** 39, 2 ** 39]), "nbytes|shape"),
    (lambda t, h: t["arrays"][0].__setitem__("checksum", "x"), "checksum"),
    (lambda t, h: t["arrays"][0].pop("offset"), "keys"),
    (lambda t, h: t["arrays"].append(dict(t["arrays"][0])), "n_arrays|twice"),
    (lambda t, h: t.__setitem__("extra", []), "extra"),
    (lambda t, h: t.__setitem__("arrays", {}), "arrays"),
    (lambda t, h: t["arrays"].pop(), "n_arrays|differ"),
])
def test_crafted_snapshot_cases(tmp_path, sim_module, edit, match):
    """Named crafted cases of the issue: each a SnapshotError, never TypeError/KeyError/MemoryError."""
    path = build_small_db(str(tmp_path / "g.braindb"))
    sim = sim_module(path)
    snap = tmp_path / "s.snapshot"
    sim.save_snapshot(snap)
    raw = snap.read_bytes()
    tlen = int(np.frombuffer(raw[96:104], "<u8")[0])
    table, hdr = json.loads(raw[128:128 + tlen]), bytearray(raw[:128])
    edit(table, hdr)
    if int(np.frombuffer(bytes(hdr[12:16]), "<u4")[0]) != 99 and "n_arrays" not in match:
        hdr[12:16] = np.uint32(len(table["arrays"]) if isinstance(table["arrays"], list) else 0).tobytes()
    body = json.dumps(table).encode()
    hdr[96:104] = np.uint64(len(body)).tobytes()
    hdr[104:108] = np.uint32(zlib.crc32(body)).tobytes()
    hdr[108:112] = np.uint32(zlib.crc32(bytes(hdr[:108]))).tobytes()
    data = raw[fmt.align(128 + tlen):]
    snap.write_bytes(bytes(hdr) + body + bytes(fmt.align(128 + len(body)) - 128 - len(body)) + data)
    with pytest.raises(SnapshotError, match=match):
        sim.load_snapshot(snap)


@pytest.mark.parametrize("table_bytes", [b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000,
                                         b'{"arrays": [], "extra": 1}'])
def test_undecodable_or_deep_snapshot_table(tmp_path, table_bytes):
    hdr = bytearray(128)
    hdr[:8], hdr[8:12] = b"BRAINSNP", np.uint32(1).tobytes()
    hdr[24:32], hdr[32:96] = np.float64(0.1).tobytes(), b"0" * 64
    hdr[96:104], hdr[104:108] = np.uint64(len(table_bytes)).tobytes(), np.uint32(zlib.crc32(table_bytes)).tobytes()
    hdr[108:112] = np.uint32(zlib.crc32(bytes(hdr[:108]))).tobytes()
    p = tmp_path / "t.snapshot"
    p.write_bytes(bytes(hdr) + table_bytes)
    with pytest.raises(SnapshotError):
        load_snapshot(p)


@pytest.fixture(scope="module")
def small_image(tmp_path_factory):
    return open(build_small_db(str(tmp_path_factory.mktemp("hyp") / "s.braindb")), "rb").read()


def test_any_overwrite_is_refused_or_harmless(small_image, tmp_path_factory):
    """Property (hypothesis): bytes written anywhere give a BrainGoError, or the very same bytes."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    path = tmp_path_factory.mktemp("hyp_run") / "m.braindb"

    @settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.integers(0, len(small_image) - 1), st.binary(min_size=1, max_size=16))
    def check(offset, patch):
        data = bytearray(small_image)
        data[offset:offset + len(patch)] = patch
        data = bytes(data[:len(small_image)])
        path.write_bytes(data)
        try:
            BrainDB(path)
        except BrainGoError:
            return
        assert data == small_image

    check()
