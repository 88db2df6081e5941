"""Named tables passed between the engine and its numba kernels (namedtuples of arrays, as numba accepts them).

Each structure is defined once here; the engine builds it and every kernel reads its fields by name, so a
new field is one edit in this module plus the line that fills it. Shapes use n = neurons, nn = nodes
(compartments), S = spike-receptor slots, G = graded-receptor slots, C = neuron classes, m = spike synapses.

* :data:`Net` -- static network tables (:func:`braingo_core.sim.network.build_network`);
* :data:`State` -- dynamic state of the point engine, and at the same time the schema of its snapshots
  (every field is saved and restored by name, plus ``w_plastic``, the plastic weights of ``Net.syn_w``);
* :data:`Inputs` -- what the user sets between runs: injected current and the lesion mask;
* :data:`Scratch`, :data:`LifScratch`, :data:`GradedScratch` -- preallocated work arrays of the loops;
* :data:`Poisson`, :data:`Stdp` -- settings of the external drive and of plasticity (config, fixed per run);
* :data:`Rec` -- recording buffers and the spike output of one ``advance`` call.
"""
from collections import namedtuple

#: Static tables. Per class c (equal model, parameters and membrane): ``c_model`` int8[C], ``c_params``
#: [C, N_PARAMS], ``c_cm`` pF, ``c_gl`` nS, ``c_el`` mV, ``c_inv_gl`` 1/nS, ``c_decay_m`` = exp(-dt/tau_m).
#: Per neuron: ``cls`` int32[n], ``model`` int8[n], ``params`` [n, N_PARAMS], ``soma``/``ncomp`` int64[n];
#: ``ident``: node == neuron id for every neuron. Per node: ``node_cm/gl/el/gna/gk``, ``node_neuron``;
#: axial CSR ``ax_ptr/ax_nb/ax_g`` (nS). Receptor slots: ``slot_receptor``, ``slot_cond`` int8, ``slot_e``
#: mV, ``slot_dd``/``slot_dr`` decay factors per tick, ``slot_norm``, exact current-synapse
#: propagators ``pa``/``pb`` [S, C] (mV/pA). Spike CSR by pre neuron: ``row_ptr`` int64[n+1], ``syn_node``,
#: ``syn_w`` (live: STDP changes the plastic ones), ``syn_delay`` int32 ticks, ``syn_slot`` int8;
#: ``part_ptr`` int64[n, P+1] (LIF fast path's split by target partition, else [0, 2]). Plastic maps
#: ``pl_*``; graded synapses by target node ``gs_ptr/gs_pre/gs_slot/gs_w`` (nS), gate pairs ``gp_slot/gp_node``
#: and per graded slot ``g_vth``/``g_delta`` mV, ``g_k`` 1/ms, ``g_e`` mV; gap CSR ``gap_ptr/gap_nb/gap_g``.
Net = namedtuple("Net", (
    "dt_ms", "n_neurons", "n_nodes", "ident", "ring_size", "min_delay", "n_syn_total", "n_gslots",
    "model", "params", "soma", "ncomp", "cls",
    "c_model", "c_params", "c_cm", "c_gl", "c_el", "c_inv_gl", "c_decay_m",
    "node_cm", "node_gl", "node_el", "node_gna", "node_gk", "node_neuron", "ax_ptr", "ax_nb", "ax_g",
    "slot_receptor", "slot_cond", "slot_e", "slot_dd", "slot_dr", "slot_norm", "pa", "pb",
    "row_ptr", "syn_node", "syn_w", "syn_delay", "syn_slot", "part_ptr",
    "pl_syn", "pl_wmax", "pl_pre", "pl_post", "pl_pre_ptr", "pl_post_order", "pl_post_ptr",
    "gs_ptr", "gs_pre", "gs_slot", "gs_w", "gp_slot", "gp_node", "g_vth", "g_delta", "g_k", "g_e",
    "gap_ptr", "gap_nb", "gap_g",
))

#: Dynamic state (float64 unless noted): ``v`` [nn] mV, ``u`` [n] (Izhikevich recovery), ``gates`` [3, nn]
#: (HH m, h, n), ``ga``/``gb`` [S, nn] lumped synapses (decay / rise parts, nS or pA), ``ring``
#: [ring_size, S, nn] synaptic input by arrival tick, ``s_gate`` [G, nn] graded gates, ``ref_until`` int64[n]
#: (LIF refractory end tick), ``rng`` uint64[n] (Poisson streams), ``x_pre``/``x_post`` [n] STDP traces,
#: ``dw`` [n_plastic] pending weight changes, ``tick`` int64[1].
State = namedtuple("State", ("v", "u", "gates", "ga", "gb", "ring", "s_gate", "ref_until", "rng", "x_pre",
                             "x_post", "dw", "tick"))

#: ``i_ext`` [n] pA injected at the soma; ``lesion`` uint8[nn] (1: the node is silenced).
Inputs = namedtuple("Inputs", ("i_ext", "lesion"))

#: Work arrays of the general loop: ``gext``/``dext``/``vold`` [nn]; per-partition spike lists ``spk_i``
#: int32 / ``spk_t`` int64 [n * W]; ``spk_cnt``, ``bad_i``, ``bad_t`` int64[threads]; the window's spikes in
#: (tick, neuron) order ``spikes`` int32 / ``spike_t`` int64 [n * W]; ``t_start`` int64[W + 1].
Scratch = namedtuple("Scratch", ("gext", "dext", "vold", "spk_i", "spk_t", "spk_cnt", "bad_i", "bad_t", "spikes",
                                 "spike_t", "t_start"))

#: Extra work arrays of the LIF fast path: Poisson thresholds ``thr`` int64[4]; per partition ``kbuf``
#: [P, LIF_CHUNK] (Poisson counts), ``fired`` uint8[P, LIF_CHUNK], ``cst`` [P, CST_SIZE] (class constants).
LifScratch = namedtuple("LifScratch", ("thr", "kbuf", "fired", "cst"))

#: Work arrays of the graded path (see :mod:`kernels_graded`): ``live``, ``vs``, ``g_gap``, ``gext``, ``dext``
#: [n]; ``gap_wl`` [m_gap]; ``sa`` [Q gate pairs].
GradedScratch = namedtuple("GradedScratch", ("live", "vs", "g_gap", "gext", "dext", "gap_wl", "sa"))

#: Per-neuron input rows of the graded path (:func:`braingo_core.sim.network.graded_rows`).
GradedRows = namedtuple("GradedRows", ("gap_ptr", "gap_y", "gap_w", "gs_ptr", "gs_q", "gs_e", "gs_w", "q_flat",
                                       "q_pre", "q_slot"))

#: External Poisson drive: ``on``, ``all`` (every neuron, else ``mask`` uint8[n]), ``cdf`` binomial CDF of the
#: count per tick, receptor ``slot``, weight ``w`` per input spike (nS or pA).
Poisson = namedtuple("Poisson", ("on", "all", "cdf", "slot", "w", "mask"))

#: STDP settings: ``on``, ``a_plus``/``a_minus`` (fractions of w_max), trace decay factors per tick
#: ``dec_pre``/``dec_post``, ``batch`` ticks between weight updates.
Stdp = namedtuple("Stdp", ("on", "a_plus", "a_minus", "dec_pre", "dec_post", "batch"))

#: Recording: ``col`` int64[n] (column of a recorded neuron, else -1), ``every`` ticks (0: none), ``v_buf``
#: [rows, k] mV, ``row`` int64[1] next row; spike output ``out_i`` int32 / ``out_t`` int64, ``out_n`` int64[1];
#: ``err`` int64[2] (diverged neuron, tick).
Rec = namedtuple("Rec", ("col", "every", "v_buf", "row", "out_i", "out_t", "out_n", "err"))
