"""CelegansNetwork: many multi-compartment C. elegans cells, graded synapses and gap junctions (spec §1-§5).

Each tick follows NEURON's fixed-step scheme (spec §3.1, CVode off, secondorder 0):

1. membrane, synaptic and gap-junction currents and their conductances dI/dV at (V^n, y^n); the
   presynaptic / other-side voltage of synapses and gap junctions is V^n (explicit);
2. one backward-Euler, linearised voltage solve for every cell tree at once (Hines elimination over
   compartments stored parent-before-child);
3. Ca pool (backward Euler, I_Ca of step 1, the V <= 60 test at V^{n+1}), then every gate by the
   exponential rule at V^{n+1} (kcnl with cai^{n+1}, slo m with the old partner gate), then graded
   synapse states with V_pre^{n+1}.

Units: pF, nS, pA, mV, ms internally (spec §1.2); the soma injection is constant over a ``step`` call
(so a clamp switching on at a tick midpoint is exact when the caller splits calls there, as
:mod:`braingo_core.sim.celegans.clamp` does). Differences from NEURON: none in the arithmetic of the
scheme; see :mod:`braingo_core.sim.celegans.channels` for how duplicated slo gates and unused channels are
handled. Compartments are reordered internally (per neuron, by depth); external compartment ids are
those given to the constructor. The numba kernels and their named tables are in :mod:`.kernels`.
"""
import logging
import math

import numpy as np

from braingo_core.errors import SimulationError
from braingo_core.sim.celegans import channels as ch
from braingo_core.sim.celegans import kernels as kc
from braingo_core.sim.celegans.params import check_tree
from braingo_core.sim.celegans import tables as ta
from braingo_core.sim.celegans.tables import build_rate_table

log = logging.getLogger(__name__)


def _f64(x, n, name):
    arr = np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)))
    if not np.all(np.isfinite(arr)):
        raise SimulationError(f"CelegansNetwork: {name} has non-finite values")
    return arr.copy()


def _depth_order(neuron, parent):
    depth = np.zeros(len(parent), np.int64)
    node = parent.copy()
    while (node >= 0).any():
        depth += node >= 0
        node = np.where(node >= 0, parent[np.maximum(node, 0)], -1)
    return np.lexsort((np.arange(len(parent)), depth, neuron))


class CelegansNetwork:
    """State and integrator of a network of C. elegans cells (spec §1-§5); see the module docstring.

    Parameters
    ----------
    dt_ms : float
        Fixed time step.
    comp_neuron : int[n_comp]
        Owning neuron (0..n_neurons-1) of each compartment; every neuron needs at least one.
    parent : int[n_comp]
        Parent compartment (global index, -1 for the root = the neuron's soma); each neuron a tree.
    length_um, diam_um, ra_ohm_cm, cm_uF_cm2, g_pas_S_cm2, e_pas_mV : float[n_comp]
        Cylinder geometry (one segment per compartment) and passive parameters.
    gbar_S_cm2 : float[n_comp, 16]
        Channel densities (``records.CELEGANS_CHANNELS`` order). The channels and a Ca pool exist in
        the root compartment of every neuron and in any compartment with a nonzero density.
    synapses : dict of arrays, optional
        Graded synapses (spec §5.1): ``pre_comp``, ``post_comp`` (global compartment ids), ``weight``
        (dimensionless |w|), ``g_max_nS``, ``e_rev_mV``, ``v_th_mV``, ``delta_mV``, ``k_per_ms``.
    gap_junctions : dict of arrays, optional
        ``comp_a``, ``comp_b`` (global compartment ids) and ``g_nS`` (per side, spec §5.2).
    neuron_names : list of str, optional
        Names used in error messages.
    v_init_mV : float or float[n_neurons], optional
        Initial voltage per neuron; default the soma ``e_pas_mV`` of each neuron.
    rate_table : bool
        Gate updates by interpolation in a voltage table (:mod:`.tables`, default) or by the exact
        rate functions.

    Raises
    ------
    SimulationError
        Inconsistent shapes, non-finite or out-of-range values, compartment ids out of range.
    LoaderError
        A compartment graph that is not a tree.
    """

    def __init__(self, dt_ms, comp_neuron, parent, length_um, diam_um, ra_ohm_cm, cm_uF_cm2, g_pas_S_cm2,
                 e_pas_mV, gbar_S_cm2, synapses=None, gap_junctions=None, neuron_names=None, v_init_mV=None,
                 rate_table=True):
        self.dt_ms = float(dt_ms)
        if not (math.isfinite(self.dt_ms) and self.dt_ms > 0):
            raise SimulationError(f"CelegansNetwork: dt_ms must be > 0, got {dt_ms}")
        neuron = np.asarray(comp_neuron, dtype=np.int64)
        n = len(neuron)
        ext_parent = np.asarray(parent, dtype=np.int64)
        if ext_parent.shape != (n,) or n == 0:
            raise SimulationError(f"CelegansNetwork: parent has shape {ext_parent.shape}, expected ({n},) > 0")
        self.n_neurons = int(neuron.max()) + 1
        missing = np.setdiff1d(np.arange(self.n_neurons), neuron)
        if neuron.min() < 0 or len(missing):
            raise SimulationError(f"CelegansNetwork: neuron {missing[0] if len(missing) else neuron.min()} "
                                  "has no compartments")
        self.neuron_names = list(neuron_names) if neuron_names is not None else [str(i) for i in range(self.n_neurons)]
        check_tree(ext_parent, "CelegansNetwork compartments", neuron)
        order = _depth_order(neuron, ext_parent)
        inv = np.empty(n, np.int64)
        inv[order] = np.arange(n)
        self._order, self._inv = order, inv             # internal i <-> external order[i]
        self.comp_neuron = neuron[order]
        self.parent = np.where(ext_parent[order] >= 0, inv[np.maximum(ext_parent[order], 0)], -1)
        geo = {k: _f64(x, n, k)[order] for k, x in (
            ("length_um", length_um), ("diam_um", diam_um), ("ra_ohm_cm", ra_ohm_cm),
            ("cm_uF_cm2", cm_uF_cm2), ("g_pas_S_cm2", g_pas_S_cm2), ("e_pas_mV", e_pas_mV))}
        for key in ("length_um", "diam_um", "ra_ohm_cm", "cm_uF_cm2"):
            if np.any(geo[key] <= 0):
                raise SimulationError(f"CelegansNetwork: {key} must be > 0 (compartment {order[np.argmin(geo[key])]})")
        gbar = np.asarray(gbar_S_cm2, dtype=np.float64)
        if gbar.shape != (n, ch.N_CHANNELS) or not np.all(np.isfinite(gbar)) or np.any(gbar < 0) \
                or np.any(geo["g_pas_S_cm2"] < 0):
            raise SimulationError(f"CelegansNetwork: gbar_S_cm2 must be finite, >= 0, shape ({n}, 16); "
                                  "g_pas_S_cm2 >= 0")
        gbar = gbar[order]
        area = np.pi * geo["diam_um"] * geo["length_um"]
        self.area_um2 = area
        self._cdt = 0.01 * geo["cm_uF_cm2"] * area / self.dt_ms
        self._gpas = 10.0 * geo["g_pas_S_cm2"] * area
        self._epas = geo["e_pas_mV"]
        r_half = 4.0 * geo["ra_ohm_cm"] * (geo["length_um"] / 2.0) / (np.pi * geo["diam_um"] ** 2) * 1e-2
        self._g_ax = np.zeros(n)
        linked = self.parent >= 0
        self._g_ax[linked] = 1000.0 / (r_half[linked] + r_half[self.parent[linked]])
        self._d_ax = self._g_ax.copy()
        np.add.at(self._d_ax, self.parent[linked], self._g_ax[linked])
        self.soma_comp = np.nonzero(~linked)[0][np.argsort(self.comp_neuron[~linked], kind="stable")]
        active = ~linked | (gbar > 0).any(axis=1)
        act = np.nonzero(active)[0]
        need = np.array([ch.need_bits(g) for g in gbar[act]], dtype=np.int64)
        # Active compartments grouped by channel set: the gate kernel's branches then repeat in runs.
        by_need = np.argsort(need, kind="stable")
        self._act_comp, self._need = act[by_need], need[by_need]
        self._act_a10 = 10.0 * area[self._act_comp]
        self._gbar = np.ascontiguousarray(gbar[self._act_comp])
        self._dec = ch.constant_decays(self.dt_ms)
        self._use_tab = bool(rate_table)
        self._tab = build_rate_table(self.dt_ms) if rate_table else np.zeros((2, 1))
        act_index = np.full(n, -1, np.int64)
        act_index[self._act_comp] = np.arange(len(self._act_comp))
        self._soma_act = act_index[self.soma_comp]
        self._build_synapses(synapses or {}, n)
        self._build_gaps(gap_junctions or {}, n)
        self._v_init = _f64(self._epas[self.soma_comp] if v_init_mV is None else v_init_mV, self.n_neurons,
                            "v_init_mV")
        self.v_mV = np.empty(n)
        self.gates = np.zeros((len(self._act_comp), ch.N_GATES))
        self.cai = np.empty(len(self._act_comp))
        self._err = np.zeros(3, np.int64)
        self._no_inj = np.zeros(self.n_neurons)
        self.lesion = np.zeros(n, np.uint8)
        self._v_hold = self._v_init[self.comp_neuron]
        self._tb = kc.Tables(self.dt_ms, self._cdt, self._gpas, self._epas, self.parent, self._g_ax, self._d_ax,
                             self._act_comp, self._act_a10, self._gbar, self._need, self._dec, self._tab,
                             ta.V_MIN_mV, 1.0 / ta.STEP_mV, self._use_tab, self.soma_comp, self._soma_act,
                             self._grp_pre, self._grp_vth, self._grp_delta, self._grp_k, self._syn_grp,
                             self._syn_post, self._syn_wg, self._syn_e, self._gj_a, self._gj_b, self._gj_g,
                             self._v_hold)
        self._st = kc.State(self.v_mV, self.gates, self.cai, self.syn_s)
        self._scr = kc.Scratch(np.empty(n), np.empty(n), np.empty(n), np.empty(len(self._act_comp)))
        self.reset()

    @classmethod
    def from_cells(cls, cells, dt_ms, v_init_mV=None):
        """Independent, unconnected cells from :class:`~braingo_core.sim.celegans.params.CellParams`
        (a cell may appear several times, e.g. once per clamp amplitude)."""
        parts = [c.compartment_arrays() for c in cells]
        if not parts:
            raise SimulationError("CelegansNetwork.from_cells: no cells")
        offset = np.cumsum([0] + [len(p["parent"]) for p in parts[:-1]])
        cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "parent"}
        parent = np.concatenate([np.where(p["parent"] >= 0, p["parent"] + o, -1) for p, o in zip(parts, offset)])
        neuron = np.concatenate([np.full(len(p["parent"]), i) for i, p in enumerate(parts)])
        return cls(dt_ms, neuron, parent, cat["length_um"], cat["diam_um"], cat["ra_ohm_cm"], cat["cm_uF_cm2"],
                   cat["g_pas_S_cm2"], cat["e_pas_mV"], cat["gbar_S_cm2"], neuron_names=[c.name for c in cells],
                   v_init_mV=v_init_mV)

    @classmethod
    def from_braindb(cls, db, dt_ms=None, v_init_mV=None, synapse_scale=1.0, gap_scale=1.0):
        """Network of every neuron of a :class:`~braingo_core.storage.BrainDB`.

        Compartments come from ``db.compartments``; graded synapses are the ``db.synapses`` records with
        ``syn_type`` 1 (w = |base_weight|, which already folds in the contact count; ``g_max_nS``,
        ``e_rev_mV``, ``v_th_mV``, ``delta_mV``, ``k_per_ms`` from ``db.receptors``); gap junctions from
        ``db.gap_junctions``. A ``NO_COMP`` compartment id means the neuron's first compartment.
        Spike-type synapses are ignored (logged). ``dt_ms`` defaults to ``db.dt_ms``. ``synapse_scale``
        multiplies every synapse weight, ``gap_scale`` every gap-junction conductance (the database is not
        touched).
        """
        from braingo_core.storage.records import NO_COMP, SYN_GRADED

        comps = db.compartments
        first = np.asarray(db.neuron_attrs["first_comp_id"], dtype=np.int64)

        def comp_of(comp, neuron):
            comp = np.asarray(comp, dtype=np.int64)
            return np.where(comp == NO_COMP, first[np.asarray(neuron, dtype=np.int64)], comp)

        syn = db.synapses
        graded = syn[syn["syn_type"] == SYN_GRADED]
        if len(graded) < len(syn):
            log.warning("%s: %d spike-type synapses ignored by the C. elegans model", db.path,
                        len(syn) - len(graded))
        rec = db.receptors[graded["receptor_type"]]
        synapses = {"pre_comp": comp_of(graded["pre_comp"], graded["pre_neuron"]),
                    "post_comp": comp_of(graded["post_comp"], graded["post_neuron"]),
                    "weight": np.abs(graded["base_weight"]).astype(np.float64) * float(synapse_scale)}
        for key in ("g_max_nS", "e_rev_mV", "v_th_mV", "delta_mV", "k_per_ms"):
            synapses[key] = rec[key]
        gj = db.gap_junctions
        gaps = {"comp_a": comp_of(gj["pre_comp"], gj["pre"]), "comp_b": comp_of(gj["post_comp"], gj["post"]),
                "g_nS": np.asarray(gj["weight_nS"], np.float64) * float(gap_scale)}
        return cls(db.dt_ms if dt_ms is None else dt_ms, comps["neuron_id"], comps["parent"], comps["length_um"],
                   comps["diam_um"], comps["ra_ohm_cm"], comps["cm_uF_cm2"], comps["g_pas_S_cm2"],
                   comps["e_pas_mV"], comps["gbar_S_cm2"], synapses=synapses, gap_junctions=gaps,
                   neuron_names=db.get_all_neuron_names(), v_init_mV=v_init_mV)

    def _comp_ids(self, ids, n, what):
        ids = np.asarray(ids, dtype=np.int64).ravel()
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            raise SimulationError(f"CelegansNetwork: {what} compartment id out of range [0, {n})")
        return self._inv[ids]

    def _build_synapses(self, syn, n):
        pre = self._comp_ids(syn.get("pre_comp", []), n, "synapse pre")
        m = len(pre)
        self._syn_post = self._comp_ids(syn.get("post_comp", []), n, "synapse post")
        if len(self._syn_post) != m:
            raise SimulationError(f"CelegansNetwork: {m} synapse pre_comp but {len(self._syn_post)} post_comp")
        cols = {k: _f64(syn[k], m, f"synapse {k}") if m else np.zeros(0) for k in
                ("weight", "g_max_nS", "e_rev_mV", "v_th_mV", "delta_mV", "k_per_ms")}
        if m and (np.any(cols["delta_mV"] <= 0) or np.any(cols["k_per_ms"] <= 0) or np.any(cols["g_max_nS"] < 0)):
            raise SimulationError("CelegansNetwork: synapse delta_mV and k_per_ms must be > 0, g_max_nS >= 0")
        self._syn_wg = np.abs(cols["weight"]) * cols["g_max_nS"]
        self._syn_e = cols["e_rev_mV"]
        # s depends only on the presynaptic compartment and the kinetics: one state per distinct group.
        key = np.stack([pre.astype(np.float64), cols["v_th_mV"], cols["delta_mV"], cols["k_per_ms"]], axis=1)
        groups, self._syn_grp = np.unique(key.reshape(m, 4), axis=0, return_inverse=True)
        self._syn_grp = self._syn_grp.ravel().astype(np.int64)
        self._grp_pre = groups[:, 0].astype(np.int64)
        self._grp_vth, self._grp_delta, self._grp_k = (np.ascontiguousarray(groups[:, j]) for j in (1, 2, 3))
        self.syn_s = np.zeros(len(groups))

    def _build_gaps(self, gj, n):
        self._gj_a = self._comp_ids(gj.get("comp_a", []), n, "gap junction")
        self._gj_b = self._comp_ids(gj.get("comp_b", []), n, "gap junction")
        m = len(self._gj_a)
        if len(self._gj_b) != m:
            raise SimulationError(f"CelegansNetwork: {m} gap junction comp_a but {len(self._gj_b)} comp_b")
        self._gj_g = _f64(gj["g_nS"], m, "gap junction g_nS") if m else np.zeros(0)
        if np.any(self._gj_g < 0):
            raise SimulationError("CelegansNetwork: gap junction g_nS must be >= 0")

    # ------------------------------------------------------------------ public API
    def reset(self):
        """Initialise as NEURON's ``finitialize`` (spec §3.3): V = v_init, cai = 5e-5, gates at steady
        state (kqt3 m and slo m at 0, kcnl from cai), synapse s = s_inf(V_pre); tick = 0."""
        self.v_mV[:] = self._v_init[self.comp_neuron]
        kc.init(self.v_mV, self.gates, self.cai, self.syn_s, self._act_comp, self._grp_pre, self._grp_vth,
                self._grp_delta)
        self.tick = 0

    def set_lesion(self, neurons, on=True):
        """Silence (``on``) or restore neurons by id, as the point engine's lesion.

        A silenced cell's compartments are held at its initial voltage (``v_init_mV``, the rest of
        :meth:`reset`); it releases nothing through its graded synapses, passes no gap-junction current
        either way and ignores its synaptic input and injected current. Its gates keep following the held
        voltage, so a restored cell resumes from rest. ``lesion`` (uint8[n_comp], internal order) is the
        live mask; :meth:`reset` keeps it.
        """
        ids = np.asarray(neurons, dtype=np.int64).ravel()
        if ids.size and (ids.min() < 0 or ids.max() >= self.n_neurons):
            raise SimulationError(f"CelegansNetwork.set_lesion: neuron id out of range [0, {self.n_neurons})")
        comps = np.isin(self.comp_neuron, ids)
        self.lesion[comps] = 1 if on else 0
        if on:
            self.v_mV[comps] = self._v_hold[comps]

    def _inj(self, i_inj_pA):
        if i_inj_pA is None:
            return self._no_inj
        arr = np.ascontiguousarray(np.broadcast_to(np.asarray(i_inj_pA, dtype=np.float64), (self.n_neurons,)))
        if not np.all(np.isfinite(arr)):
            raise SimulationError(f"CelegansNetwork: non-finite injected current for neuron "
                                  f"{self.neuron_names[int(np.argmin(np.isfinite(arr)))]}")
        return arr

    def _advance(self, n_ticks, inj, every, rec_v, rec_cai):
        n_ticks = int(n_ticks)
        if n_ticks < 0:
            raise SimulationError(f"CelegansNetwork.step: n_ticks must be >= 0, got {n_ticks}")
        done = kc.run(n_ticks, self.tick, self._tb, self._st, self._scr, inj, self.lesion, every, rec_v, rec_cai,
                      self._err)
        self.tick += done
        if self._err[0]:
            c = int(self._err[1])
            nrn = int(self.comp_neuron[c])
            local = int(np.searchsorted(np.sort(self._order[self.comp_neuron == nrn]), self._order[c]))
            self._err[0] = 0
            raise SimulationError(f"C. elegans network diverged: neuron {self.neuron_names[nrn]} (id {nrn}), "
                                  f"compartment {local}, tick {int(self._err[2])} (V = {self.v_mV[c]} mV)")

    def step(self, n_ticks=1, i_inj_pA=None):
        """Advance ``n_ticks`` ticks with a constant soma injection.

        Parameters
        ----------
        n_ticks : int
        i_inj_pA : float or float64[n_neurons], optional
            Current into each neuron's soma (positive depolarises); None = 0.

        Raises
        ------
        SimulationError
            Non-finite input, or a diverging voltage (names neuron, compartment and tick); the state
            is then left at the failing tick.
        """
        empty = np.zeros((0, 0))
        self._advance(n_ticks, self._inj(i_inj_pA), 0, empty, empty)

    def record(self, n_ticks, i_inj_pA=None, every=1):
        """Like :meth:`step`, sampling the soma after every ``every`` ticks.

        Returns
        -------
        v_mV, cai : float64[n_ticks // every, n_neurons]
            Soma voltage and soma pool Ca (NaN for a soma without a pool).
        """
        every = int(every)
        if every < 1:
            raise SimulationError(f"CelegansNetwork.record: every must be >= 1, got {every}")
        rec_v = np.empty((int(n_ticks) // every, self.n_neurons))
        rec_cai = np.empty_like(rec_v)
        self._advance(n_ticks, self._inj(i_inj_pA), every, rec_v, rec_cai)
        return rec_v, rec_cai

    def soma_voltages_mV(self):
        """float64[n_neurons]: soma voltage (copy)."""
        return self.v_mV[self.soma_comp]

    def soma_cai(self):
        """float64[n_neurons]: soma pool Ca (µM-labelled; NaN where the soma has no pool), copy."""
        return np.where(self._soma_act >= 0, self.cai[np.maximum(self._soma_act, 0)], np.nan)

    def synapse_states(self):
        """float64[n_syn]: gate s of every graded synapse, in constructor order (copy)."""
        return self.syn_s[self._syn_grp]

    def compartment_voltages_mV(self):
        """float64[n_comp]: voltage of every compartment in the constructor's compartment order (copy)."""
        return self.v_mV[self._inv]

    def state_arrays(self):
        """The live dynamic state as name -> ndarray (writing into them changes the state):
        ``v_mV`` float64[n_comp] (internal order), ``gates`` float64[n_active, N_GATES]
        (columns ``channels.GATE_NAMES``), ``cai`` float64[n_active], ``syn_s`` float64[n_groups]
        (one state per distinct presynaptic compartment and kinetics; :meth:`synapse_states`),
        ``tick`` int64[1] (a copy; restore it with :meth:`load_state`)."""
        return {"v_mV": self.v_mV, "gates": self.gates, "cai": self.cai, "syn_s": self.syn_s,
                "tick": np.array([self.tick], np.int64)}

    def load_state(self, state):
        """Restore arrays produced by :meth:`state_arrays` (same network); SimulationError on mismatch."""
        for name, arr in self.state_arrays().items():
            if name not in state or np.shape(state[name]) != arr.shape:
                raise SimulationError(f"CelegansNetwork.load_state: '{name}' missing or of shape "
                                      f"{np.shape(state.get(name))}, expected {arr.shape}")
        for name in ("v_mV", "gates", "cai", "syn_s"):
            getattr(self, name)[...] = state[name]
        self.tick = int(state["tick"][0])
