"""The FlyWire v783 whole-brain LIF model (Shiu et al. 2024, Nature 634:210) as a .braindb.

``load_flywire`` reads the paper's files: ``Completeness_783.csv`` (first column: FlyWire root ids, one
row per neuron, row number = model index) and ``Connectivity_783.parquet`` (columns ``Presynaptic_Index``,
``Postsynaptic_Index``, ``Excitatory x Connectivity``: the signed synapse count of each connection).
:func:`write_fly_db` is shared with the seeded generator (:mod:`braingo_core.loaders.flywire_like`).

The model, stored as plain LIF records so that any point backend can read it:

* every neuron is ``lif`` with v_rest = v_reset = -52 mV, v_th = -45 mV, t_ref = 2.2 ms,
  cm = 20 pF and g_leak = 1 nS (tau_m = 20 ms; 1 pA of synaptic current = 1 mV of Brian's ``g``);
* one current receptor ``syn`` with tau = 5 ms; each connection is one synapse record of weight
  0.275 mV x signed count (stored as pA, float32) and delay 1.8 ms; ``count`` holds |count|;
* the Poisson drive (``FLY_DRIVE``: 200 Hz, 68.75 mV onto v) is a run setting, not part of the file.

The ``fly`` backend (:mod:`braingo_core.sim.fly_engine`) runs these records with Brian2's semantics.
"""
import numpy as np

from braingo_core.errors import LoaderError
from braingo_core.storage import BrainDBBuilder

#: Shiu et al. 2024 constants (mV, ms); ``w_syn_mV`` is the weight per synapse of a connection.
SHIU = {"v_rest_mV": -52.0, "v_reset_mV": -52.0, "v_th_mV": -45.0, "tau_m_ms": 20.0, "tau_syn_ms": 5.0,
        "t_ref_ms": 2.2, "delay_ms": 1.8, "w_syn_mV": 0.275, "dt_ms": 0.1}
#: Default Poisson drive of chosen neurons: rate (Hz) and weight onto v (mV) = 250 x w_syn (no refractoriness).
FLY_DRIVE = {"rate_Hz": 200.0, "weight_mV": 68.75}
G_LEAK_NS = 1.0
CONNECTIVITY_COLUMNS = ("Presynaptic_Index", "Postsynaptic_Index", "Excitatory x Connectivity")


def write_fly_db(path, n_neurons, pre, post, signed_count, metadata=None):
    """Write the Shiu model of a network of ``n_neurons`` with connections ``pre -> post`` to ``path``.

    ``pre``/``post`` are model indices, ``signed_count`` the signed synapse counts (int, != 0, |.| <= 65535).
    Connections are stored in CSR order (by pre, stable). Returns ``path``.
    """
    b = BrainDBBuilder(dt_ms=SHIU["dt_ms"])
    tid = b.add_neuron_type("fly_lif", "lif", {"v_reset_mV": SHIU["v_reset_mV"], "v_th_mV": SHIU["v_th_mV"],
                                               "t_ref_ms": SHIU["t_ref_ms"]})
    rid = b.add_receptor("syn", kind="current", tau_decay_ms=SHIU["tau_syn_ms"])
    b.add_neurons(n_neurons, neuron_type=tid, cm_pF=SHIU["tau_m_ms"] * G_LEAK_NS, g_leak_nS=G_LEAK_NS,
                  e_leak_mV=SHIU["v_rest_mV"])
    cnt = np.asarray(signed_count, np.int64)
    weight = (cnt * SHIU["w_syn_mV"]).astype(np.float32)       # the file's float32 weight, pA (= mV here)
    b.add_synapses(pre, post, weight, np.full(cnt.size, SHIU["delay_ms"], np.float32), receptor=rid,
                   count=np.abs(cnt))
    b.metadata.update(metadata or {})
    b.metadata["model"] = {"name": "Shiu et al. 2024 whole-brain LIF", **SHIU, "drive": FLY_DRIVE}
    return b.write(path)


def read_completeness(path):
    """FlyWire root ids (int64[n]) from the first column of ``Completeness_783.csv``."""
    import pyarrow.csv as pcsv
    import pyarrow.types as pat

    try:
        table = pcsv.read_csv(path)
    except FileNotFoundError:
        raise LoaderError(f"{path}: no such file") from None
    except Exception as exc:         # pyarrow raises its own types for malformed CSV
        raise LoaderError(f"{path}: not a readable CSV ({exc})") from None
    if table.num_columns < 1 or table.num_rows < 1:
        raise LoaderError(f"{path}: no neuron rows")
    col = table.column(0)
    name = table.column_names[0] or "(first column)"
    if col.null_count or not pat.is_integer(col.type):
        raise LoaderError(f"{path}: column {name!r} must hold integer FlyWire ids (type {col.type}, "
                          f"{col.null_count} empty)")
    ids = col.to_numpy().astype(np.int64)
    if np.unique(ids).size != ids.size:
        dup = ids[np.flatnonzero(np.diff(np.sort(ids)) == 0)[0]]
        raise LoaderError(f"{path}: column {name!r}: FlyWire id {int(dup)} appears twice")
    return ids


def read_connectivity(path, n_neurons):
    """(pre int64, post int64, signed count int64) of ``Connectivity_783.parquet``, checked against n."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=list(CONNECTIVITY_COLUMNS))
    except FileNotFoundError:
        raise LoaderError(f"{path}: no such file") from None
    except Exception as exc:         # missing columns or not a parquet file
        raise LoaderError(f"{path}: cannot read columns {list(CONNECTIVITY_COLUMNS)} ({exc})") from None
    out = []
    for name in CONNECTIVITY_COLUMNS:
        col = table.column(name)
        if col.null_count:
            raise LoaderError(f"{path}: column {name!r} has {col.null_count} empty values")
        arr = col.to_numpy()
        if arr.dtype.kind not in "iu":
            if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or np.any(arr != np.rint(arr)):
                raise LoaderError(f"{path}: column {name!r} must hold integers (dtype {arr.dtype})")
        out.append(arr.astype(np.int64))
    pre, post, cnt = out
    for name, arr in ((CONNECTIVITY_COLUMNS[0], pre), (CONNECTIVITY_COLUMNS[1], post)):
        bad = np.flatnonzero((arr < 0) | (arr >= n_neurons))
        if bad.size:
            raise LoaderError(f"{path}: row {int(bad[0])}: {name} = {int(arr[bad[0]])} is outside the "
                              f"{n_neurons} neurons of the completeness file")
    bad = np.flatnonzero((cnt == 0) | (np.abs(cnt) > 65535))
    if bad.size:
        raise LoaderError(f"{path}: row {int(bad[0])}: {CONNECTIVITY_COLUMNS[2]} = {int(cnt[bad[0]])} "
                          "(must be a non-zero count of at most 65535 synapses)")
    return pre, post, cnt


def load_flywire(completeness_csv, connectivity_parquet, output):
    """Build the fly model from the paper's two files; returns (n_neurons, n_connections)."""
    ids = read_completeness(completeness_csv)
    pre, post, cnt = read_connectivity(connectivity_parquet, ids.size)
    meta = {"flywire_ids": [str(i) for i in ids.tolist()],
            "provenance": {"loader": "braingo load-flywire", "completeness": str(completeness_csv),
                           "connectivity": str(connectivity_parquet)}}
    write_fly_db(output, ids.size, pre, post, cnt, meta)
    return ids.size, pre.size


def brian2_model(db, no_refractory=()):
    """Shiu et al.'s Brian2 model (their model.py) over the connections of ``db``: (NeuronGroup, Synapses).

    The reference the ``fly`` backend is checked and benchmarked against (needs the ``brian2`` package):
    ``(unless refractory)`` on v and g, reset of v and g, one delay, the file's weights in mV (g_leak 1 nS);
    neurons ``no_refractory`` (Shiu's Poisson targets) get ``rfc`` 0. The caller adds its input and monitors.
    """
    from brian2 import NeuronGroup, Synapses, mV, ms

    n = db.neuron_count()
    ns = {"v_0": SHIU["v_rest_mV"] * mV, "v_rst": SHIU["v_reset_mV"] * mV, "v_th": SHIU["v_th_mV"] * mV,
          "t_mbr": SHIU["tau_m_ms"] * ms, "tau": SHIU["tau_syn_ms"] * ms}
    eqs = """dv/dt = (v_0 - v + g) / t_mbr : volt (unless refractory)
             dg/dt = -g / tau : volt (unless refractory)
             rfc : second"""
    neu = NeuronGroup(n, eqs, method="linear", threshold="v > v_th", reset="v = v_rst; g = 0*mV",
                      refractory="rfc", namespace=ns)
    neu.v = SHIU["v_rest_mV"] * mV
    neu.g = 0 * mV
    neu.rfc = SHIU["t_ref_ms"] * ms
    for i in np.asarray(no_refractory, np.int64):      # one by one: cpp_standalone takes no index arrays here
        neu.rfc[int(i)] = 0 * ms
    syn = Synapses(neu, neu, "w : volt", on_pre="g += w", delay=SHIU["delay_ms"] * ms)
    pre = np.repeat(np.arange(n, dtype=np.int32), np.diff(np.asarray(db.row_ptr, np.int64)))
    syn.connect(i=pre, j=np.asarray(db.synapses["post_neuron"], np.int32))
    syn.w = np.asarray(db.synapses["base_weight"], np.float64) * mV
    return neu, syn
