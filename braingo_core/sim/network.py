"""Static simulation tables built once from a BrainDB: node maps, receptor slots, synapse/gap CSRs.

Every voltage lives on a *node* = a compartment of the database (each neuron has at least one; its
soma node is ``first_comp_id``). Point models (LIF, Izhikevich, graded) use only their soma node: synapses
and gap junctions that name another compartment of a point neuron land on its soma. Hodgkin-Huxley
neurons use all their compartments, coupled along the cable.

Linear spike synapses with the same receptor kinetics are *lumped*: their events add into one
conductance (or current) per (receptor slot, target node), so the per-tick work is per node, not per
synapse, and only spiking rows of the CSR are ever read. This replaces an active-synapse list.
Graded synapses share their gate ``s`` per (graded receptor, presynaptic node), because s depends only
on the presynaptic voltage and the receptor.
"""
import math
from types import SimpleNamespace

import numpy as np

from braingo_core.errors import SimulationError
from braingo_core.models import MODEL_BY_CODE, NEURON_MODELS
from braingo_core.sim.tables import GradedRows, Net
from braingo_core.storage import records as rec

LIF, IZH, GRADED, HH = (NEURON_MODELS[m].code for m in ("lif", "izhikevich", "graded", "hh"))
CELEGANS = NEURON_MODELS["celegans"].code
N_PARAMS = 5


def _targets(neuron, comp, soma, multi):
    neuron = neuron.astype(np.int64)
    comp = comp.astype(np.int64)
    use = (comp != rec.NO_COMP) & multi[neuron]
    return np.where(use, comp, soma[neuron])


def _csr(keys, n):
    """Stable order and row pointer of entries grouped by ``keys`` in [0, n)."""
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return order, ptr


def _propagator(tau_syn, tau_m, c_pF, dt):
    """Charge factor P (mV/pA) of an exponential current I0*exp(-t/tau_syn) onto v over one step."""
    out = np.zeros_like(tau_m)
    if tau_syn <= 0:
        return out
    es = math.exp(-dt / tau_syn)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        em = np.exp(-dt / tau_m)
        gen = tau_m * tau_syn / (tau_syn - tau_m) * (es - em)
        inf = tau_syn * (1.0 - es) * np.ones_like(tau_m)
        same = dt * em
    out = np.where(np.isinf(tau_m), inf, np.where(np.isclose(tau_m, tau_syn, rtol=1e-9), same, gen))
    return out / c_pF


def _step_charge(tau_m, c_pF, dt):
    """Exact voltage change (mV/pA) of a current held for one step onto a leaky membrane: tau_m(1 - e^-dt/tau_m)/c."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.where(np.isinf(tau_m), dt, -tau_m * np.expm1(-dt / tau_m))
    return out / c_pF


def build_network(db, model=None, poisson_receptor=None, synapse_scale=1.0, gap_scale=1.0):
    """Static tables of ``db`` for the engine: a :data:`~braingo_core.sim.tables.Net` (fields documented there).

    ``synapse_scale`` multiplies every chemical-synapse weight (spike ``syn_w``, graded ``gs_w``),
    ``gap_scale`` every gap-junction conductance (``gap_g``); the database is not touched.
    """
    net = SimpleNamespace(part_ptr=np.zeros((0, 2), np.int64))
    dt = db.dt_ms
    net.dt_ms = dt
    n = db.neuron_count()
    neurons, types, comps = db.neuron_attrs, db.neuron_types, db.compartments
    type_id = np.asarray(neurons["neuron_type"], np.int64)
    codes = np.asarray(types["model"], np.int64)[type_id]
    params = np.zeros((n, N_PARAMS))
    params[:] = np.asarray(types["params"])[type_id, :N_PARAMS]
    own = db.neuron_params                                   # per-neuron values (add_neurons(params=...))
    params[np.asarray(own["neuron"], np.int64), np.asarray(own["param"], np.int64)] = own["value"]
    if model == "graded":
        keep = codes == GRADED
        params[~keep] = [d for _, d in NEURON_MODELS["graded"].params] + [0.0] * (N_PARAMS - 2)
        codes[:] = GRADED
    elif np.any(codes == CELEGANS):
        raise SimulationError(f"{db.path}: neurons of model 'celegans' need config model='celegans' "
                              "(16-channel engine) or model='graded' (fast point neurons)")
    user = {c for c, m in MODEL_BY_CODE.items() if m.step is not None}
    bad = sorted(set(codes.tolist()) - {LIF, IZH, GRADED, HH} - user)
    if bad:
        raise SimulationError(f"{db.path}: neuron model code(s) {bad} unknown to the engine (a user model must be "
                              "registered with braingo_core.models.register_model first)")
    net.model = codes.astype(np.int8)
    lif = codes == LIF
    params[lif, 2] = np.floor(params[lif, 2] / dt + 1e-3)      # t_ref_ms -> ticks (Brian's rounding)
    net.params = params
    net.n_neurons = n
    net.n_nodes = n_nodes = db.compartment_count()
    soma = np.asarray(neurons["first_comp_id"], np.int64)
    ncomp = np.asarray(neurons["n_compartment"], np.int64)
    multi = codes == HH
    net.soma, net.ncomp = soma, np.where(multi, ncomp, 1)
    cm = np.asarray(neurons["cm_pF"], np.float64)
    gl = np.asarray(neurons["g_leak_nS"], np.float64)
    el = np.asarray(neurons["e_leak_mV"], np.float64)
    net.ident = bool(not multi.any() and np.array_equal(soma, np.arange(n)))
    scheme = np.asarray(types["scheme"], np.int64)[type_id] if model is None else np.zeros(n, np.int64)
    substeps = np.maximum(np.asarray(types["substeps"], np.int64)[type_id], 1)
    key = np.column_stack([codes, params, cm, gl, el, scheme, substeps]) if n else np.zeros((0, 6 + N_PARAMS))
    uniq, cls = np.unique(key, axis=0, return_inverse=True)
    net.cls = cls.reshape(-1).astype(np.int32)
    net.c_model, net.c_params = uniq[:, 0].astype(np.int8), np.ascontiguousarray(uniq[:, 1:1 + N_PARAMS])
    net.c_cm, net.c_gl, net.c_el = (np.ascontiguousarray(uniq[:, 1 + N_PARAMS + k]) for k in range(3))
    net.c_scheme = uniq[:, 4 + N_PARAMS].astype(np.int8)
    net.c_substeps = uniq[:, 5 + N_PARAMS].astype(np.int64)
    with np.errstate(divide="ignore"):
        c_tau = np.where(net.c_gl > 0, net.c_cm / np.where(net.c_gl > 0, net.c_gl, 1.0), np.inf)
    net.c_decay_m = np.exp(-dt / c_tau)
    with np.errstate(divide="ignore"):
        net.c_inv_gl = np.where(net.c_gl > 0, 1.0 / net.c_gl, 0.0)
    _build_nodes(net, db, comps, soma, multi, cm, gl, el, params)
    net.node_neuron = np.asarray(comps["neuron_id"], np.int64) if n_nodes else np.zeros(0, np.int64)
    _build_synapses(net, db, soma, multi, c_tau, net.c_cm, poisson_receptor)
    _build_gaps(net, db, soma, multi)
    if synapse_scale != 1.0:
        net.syn_w *= synapse_scale
        net.gs_w *= synapse_scale
    if gap_scale != 1.0:
        net.gap_g *= gap_scale
    return Net(**vars(net))


def _build_nodes(net, db, comps, soma, multi, cm, gl, el, params):
    """Per-node membrane constants (pF, nS, mV) and the axial neighbour CSR of HH cables."""
    n_nodes = net.n_nodes
    node_cm, node_gl, node_el = np.ones(n_nodes), np.zeros(n_nodes), np.zeros(n_nodes)
    node_gna, node_gk = np.zeros(n_nodes), np.zeros(n_nodes)
    node_cm[soma], node_gl[soma], node_el[soma] = cm, gl, el
    ax_a, ax_b, ax_g = [], [], []
    hh_ids = np.flatnonzero(multi)
    if hh_ids.size:
        owner = np.asarray(comps["neuron_id"], np.int64)
        is_hh = multi[owner]
        idx = np.flatnonzero(is_hh)
        c = comps[idx]
        length, diam = c["length_um"].astype(float), c["diam_um"].astype(float)
        area_cm2 = math.pi * diam * length * 1e-8
        if np.any(area_cm2 <= 0):
            raise SimulationError(f"{db.path}: an HH compartment has zero area (length_um or diam_um is 0)")
        node_cm[idx] = c["cm_uF_cm2"] * area_cm2 * 1e6
        node_gl[idx] = c["g_pas_S_cm2"] * area_cm2 * 1e9
        node_el[idx] = c["e_pas_mV"]
        node_gna[idx] = params[owner[idx], 0] * area_cm2 * 1e9
        node_gk[idx] = params[owner[idx], 1] * area_cm2 * 1e9
        r_half = c["ra_ohm_cm"] * (length * 0.5e-4) / (math.pi * (diam * 1e-4) ** 2 / 4.0)   # ohm
        parent = c["parent"].astype(np.int64)
        child = parent >= 0
        r_full = np.zeros(n_nodes)
        r_full[idx] = r_half
        a, b = idx[child], parent[child]
        g = 1e9 / (r_full[a] + r_full[b])
        ax_a, ax_b, ax_g = [a, b], [b, a], [g, g]
    a = np.concatenate(ax_a) if len(ax_a) else np.zeros(0, np.int64)
    b = np.concatenate(ax_b) if len(ax_b) else np.zeros(0, np.int64)
    g = np.concatenate(ax_g) if len(ax_g) else np.zeros(0)
    order, ptr = _csr(a, n_nodes)
    net.ax_ptr, net.ax_nb, net.ax_g = ptr, b[order].astype(np.int64), g[order].astype(np.float64)
    net.node_cm, net.node_gl, net.node_el, net.node_gna, net.node_gk = node_cm, node_gl, node_el, node_gna, node_gk


def _build_synapses(net, db, soma, multi, tau_m, cm, poisson_receptor):
    """Spike-synapse CSR (by pre neuron) with receptor slots, graded-synapse CSR (by target node), STDP maps."""
    receptors = db.receptors
    n, n_syn = net.n_neurons, db.synapse_count()
    counts = np.zeros(n, np.int64)
    used, gused, max_delay, min_delay = set(), set(), 0, 1 << 30
    for _, ch in db.synapse_chunks():
        spike = ch["syn_type"] == rec.SYN_SPIKE
        counts += np.bincount(ch["pre_neuron"][spike], minlength=n)
        used.update(np.unique(ch["receptor_type"][spike]).tolist())
        gused.update(np.unique(ch["receptor_type"][~spike]).tolist())
        if spike.any():
            max_delay = max(max_delay, int(ch["delay_ticks"][spike].max()))
            min_delay = min(min_delay, int(ch["delay_ticks"][spike].min()))
    if poisson_receptor is not None:
        used.add(int(poisson_receptor))
    for r in sorted(used | gused):
        if r >= len(receptors):
            raise SimulationError(f"{db.path}: a synapse names receptor {r}, but only {len(receptors)} exist")
    slots = sorted(used)
    slot_of = np.full(max(len(receptors), 1), -1, np.int64)
    slot_of[slots] = np.arange(len(slots))
    net.slot_receptor = np.asarray(slots, np.int64)
    names = db.metadata.get("receptor_names") or [f"#{i}" for i in range(len(receptors))]
    S = len(slots)
    net.slot_cond = np.zeros(S, np.int8)
    net.slot_e, net.slot_dd, net.slot_dr, net.slot_norm = np.zeros(S), np.zeros(S), np.zeros(S), np.ones(S)
    net.pa, net.pb = np.zeros((S, len(tau_m))), np.zeros((S, len(tau_m)))      # per neuron class
    for s, r in enumerate(slots):
        rr = receptors[r]
        kind, td, tr = int(rr["kind"]), float(rr["tau_decay_ms"]), float(rr["tau_rise_ms"])
        if kind == rec.RECEPTOR_GRADED:
            raise SimulationError(f"{db.path}: receptor '{names[r]}' is graded but spike synapses use it")
        if kind == rec.RECEPTOR_DELTA:                  # a current for the arrival tick only
            net.pa[s] = _step_charge(tau_m, cm, net.dt_ms)
            continue
        if td <= 0 or tr >= td:
            raise SimulationError(f"{db.path}: receptor '{names[r]}': spike synapses need tau_decay_ms > 0 and "
                                  f"tau_rise_ms < tau_decay_ms (got {td}, {tr})")
        net.slot_cond[s] = kind == rec.RECEPTOR_CONDUCTANCE
        net.slot_e[s] = float(rr["e_rev_mV"])
        net.slot_dd[s] = math.exp(-net.dt_ms / td)
        if tr > 0:
            net.slot_dr[s] = math.exp(-net.dt_ms / tr)
            tp = td * tr / (td - tr) * math.log(td / tr)
            net.slot_norm[s] = 1.0 / (math.exp(-tp / td) - math.exp(-tp / tr))
        net.pa[s] = _propagator(td, tau_m, cm, net.dt_ms)
        net.pb[s] = _propagator(tr, tau_m, cm, net.dt_ms)
    net.ring_size = max_delay + 1
    net.min_delay = min_delay
    if db.ring_size and max_delay >= db.ring_size:
        raise SimulationError(f"{db.path}: ring overflow: a synapse delay of {max_delay} ticks does not fit the "
                              f"header's ring of {db.ring_size} ticks")
    net.row_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=net.row_ptr[1:])
    m = int(counts.sum())
    net.syn_node = np.empty(m, np.int32 if net.n_nodes < 2 ** 31 else np.int64)
    net.syn_w = np.empty(m, np.float64)
    net.syn_delay = np.empty(m, np.int32)
    net.syn_slot = np.empty(m, np.int8)
    plastic_idx, plastic_wmax, g_parts = [], [], []
    i = 0
    for start, ch in db.synapse_chunks():
        spike = ch["syn_type"] == rec.SYN_SPIKE
        sp = ch[spike]
        k = sp.size
        net.syn_node[i:i + k] = _targets(sp["post_neuron"], sp["post_comp"], soma, multi)
        net.syn_w[i:i + k] = sp["base_weight"]
        net.syn_delay[i:i + k] = sp["delay_ticks"]
        net.syn_slot[i:i + k] = slot_of[sp["receptor_type"]]
        pl = np.flatnonzero(sp["plastic"] != 0)
        if pl.size:
            plastic_idx.append(i + pl)
            plastic_wmax.append(sp["w_max"][pl].astype(np.float64))
        if k < ch.size:
            g_parts.append(ch[~spike].copy())
        i += k
    net.n_syn_total = n_syn
    _build_plastic(net, plastic_idx, plastic_wmax)
    _build_graded(net, db, g_parts, soma, multi, names)


def _build_plastic(net, plastic_idx, plastic_wmax):
    pid = np.concatenate(plastic_idx) if plastic_idx else np.zeros(0, np.int64)
    net.pl_syn = pid.astype(np.int64)
    net.pl_wmax = np.concatenate(plastic_wmax) if plastic_wmax else np.zeros(0)
    pre = (np.searchsorted(net.row_ptr, pid, side="right") - 1).astype(np.int64)
    post = net.node_neuron[net.syn_node[pid]].astype(np.int64)
    net.pl_pre, net.pl_post = pre, post
    _, net.pl_pre_ptr = _csr(pre, net.n_neurons)          # plastic ids are already ordered by pre
    net.pl_post_order, net.pl_post_ptr = _csr(post, net.n_neurons)


def _build_graded(net, db, g_parts, soma, multi, names):
    g = np.concatenate(g_parts) if g_parts else np.zeros(0, rec.SynapseAttr)
    receptors = db.receptors
    gslots = sorted(np.unique(g["receptor_type"]).tolist())
    G = len(gslots)
    net.g_vth, net.g_delta, net.g_k, net.g_e = np.zeros(G), np.ones(G), np.zeros(G), np.zeros(G)
    gmax = np.zeros(G)
    for j, r in enumerate(gslots):
        rr = receptors[r]
        if int(rr["kind"]) != rec.RECEPTOR_GRADED:
            raise SimulationError(f"{db.path}: graded synapses use receptor '{names[r]}' whose kind is not graded")
        if float(rr["delta_mV"]) <= 0 or float(rr["k_per_ms"]) <= 0:
            raise SimulationError(f"{db.path}: graded receptor '{names[r]}' needs delta_mV > 0 and k_per_ms > 0")
        net.g_vth[j], net.g_delta[j] = float(rr["v_th_mV"]), float(rr["delta_mV"])
        net.g_k[j], net.g_e[j], gmax[j] = float(rr["k_per_ms"]), float(rr["e_rev_mV"]), float(rr["g_max_nS"])
    gslot_of = np.zeros(max(len(receptors), 1), np.int64)
    gslot_of[gslots] = np.arange(G)
    tgt = _targets(g["post_neuron"], g["post_comp"], soma, multi)
    pre = _targets(g["pre_neuron"], g["pre_comp"], soma, multi)
    gs = gslot_of[g["receptor_type"]]
    order, ptr = _csr(tgt, net.n_nodes)
    net.gs_ptr = ptr
    net.gs_pre = pre[order].astype(np.int64)
    net.gs_slot = gs[order].astype(np.int64)
    net.gs_w = (np.abs(g["base_weight"].astype(np.float64)) * gmax[gs])[order]
    pairs = np.unique(gs * max(net.n_nodes, 1) + pre) if g.size else np.zeros(0, np.int64)
    net.gp_slot, net.gp_node = pairs // max(net.n_nodes, 1), pairs % max(net.n_nodes, 1)
    net.n_gslots = G


def _build_gaps(net, db, soma, multi):
    gj = db.gap_junctions
    a = _targets(gj["pre"], gj["pre_comp"], soma, multi)
    b = _targets(gj["post"], gj["post_comp"], soma, multi)
    w = np.asarray(gj["weight_nS"], np.float64)
    keep = a != b
    a, b, w = a[keep], b[keep], w[keep]
    src, nb, g = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([w, w])
    order, ptr = _csr(src, net.n_nodes)
    net.gap_ptr, net.gap_nb, net.gap_g = ptr, nb[order].astype(np.int64), g[order]


def split_by_target(net, P):
    """Order every pre neuron's synapses by target partition (stable) for the LIF fast path.

    Partition p holds the target nodes [n_nodes*p//P, n_nodes*(p+1)//P) (as the loop's prange). Returns
    ``net`` with the spike-synapse arrays permuted (``pl_syn`` follows), so the order of synapses onto any
    one target is unchanged, and ``part_ptr`` int64[n_neurons, P+1]: synapses of neuron i onto partition p
    are ``part_ptr[i, p]:part_ptr[i, p+1]``.
    """
    n, nn = net.n_neurons, net.n_nodes
    counts = np.diff(net.row_ptr)
    if P > 1:
        bounds = np.asarray([nn * p // P for p in range(1, P)], np.int64)
        key = np.searchsorted(bounds, net.syn_node, side="right").astype(np.int64)
        key += np.repeat(np.arange(n, dtype=np.int64) * P, counts)          # row * P + partition
        per = np.bincount(key, minlength=n * P).reshape(n, P)
        order = np.argsort(key, kind="stable")
        del key
        cols = ("syn_node", "syn_w", "syn_delay", "syn_slot")
        net = net._replace(**{name: getattr(net, name)[order] for name in cols})
        if net.pl_syn.size:
            inv = np.empty_like(order)
            inv[order] = np.arange(order.size)
            net = net._replace(pl_syn=inv[net.pl_syn])
    else:
        per = counts.reshape(n, 1)
    part_ptr = np.empty((n, P + 1), np.int64)
    part_ptr[:, 0] = net.row_ptr[:-1]
    np.cumsum(per, axis=1, out=part_ptr[:, 1:])
    part_ptr[:, 1:] += net.row_ptr[:-1, None]
    return net._replace(part_ptr=part_ptr)


def _rows_by_neuron(net, ptr, *cols):
    """Re-key a CSR over target nodes by target neuron (stable): (row_ptr int64[n+1], *cols reordered)."""
    tgt = net.node_neuron[np.repeat(np.arange(net.n_nodes), np.diff(ptr))]
    order = np.argsort(tgt, kind="stable")
    row_ptr = np.zeros(net.n_neurons + 1, np.int64)
    np.cumsum(np.bincount(tgt, minlength=net.n_neurons), out=row_ptr[1:])
    return (row_ptr,) + tuple(c[order] for c in cols)


def graded_rows(net):
    """Per-neuron input rows of the graded fast path (kernels_graded), in the general loop's summing order.

    Only for networks of single-node point neurons (every synapse and gap junction lands on a soma).
    Returns a :data:`~braingo_core.sim.tables.GradedRows` of, with n neurons, Q gate pairs
    (``gp_slot``/``gp_node``) and G graded receptor slots:
    gap_ptr int64[n+1], gap_y int32[m_gap] (neighbour neuron), gap_w [m_gap] (nS); gs_ptr int64[n+1],
    gs_q int32[m_gs] (gate pair), gs_e int32[m_gs] (graded slot), gs_w [m_gs] (nS); and per pair q:
    q_flat (slot * n_nodes + presynaptic node), q_pre (presynaptic neuron), q_slot, all int64[Q].
    """
    nn = max(net.n_nodes, 1)
    q_flat = net.gp_slot * nn + net.gp_node
    gap_ptr, gap_y, gap_w = _rows_by_neuron(net, net.gap_ptr, net.node_neuron[net.gap_nb].astype(np.int32),
                                            net.gap_g)
    gs_q = np.searchsorted(q_flat, net.gs_slot * nn + net.gs_pre).astype(np.int32)
    gs_ptr, gs_q, gs_e, gs_w = _rows_by_neuron(net, net.gs_ptr, gs_q, net.gs_slot.astype(np.int32), net.gs_w)
    return GradedRows(gap_ptr, gap_y, gap_w, gs_ptr, gs_q, gs_e, gs_w, q_flat, net.node_neuron[net.gp_node],
                      net.gp_slot)


def model_name(code):
    """Registry name of a model code."""
    return MODEL_BY_CODE[int(code)].name
