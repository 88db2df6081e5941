"""Fixed-size record types of the .braindb format (numpy structured dtypes, little-endian, 64-B aligned rows).

Every dtype here has an exact, tested itemsize and field offsets; docs/format.md documents each byte.
The records (``*Attr``, ``GapJunction``, ``NeuronType``, ``ReceptorType``, ``Region``) are the static
data of the file and are memory-mapped read-only. Dynamic state has no record type: the simulator keeps it as
plain arrays by name (``v``, ``ga``, ``ring``, ...: exact restarts), and snapshots store those arrays.
"""
import numpy as np

#: Compartment id meaning "the neuron's first compartment / a point neuron".
NO_COMP = 0xFFFFFFFF

#: The 16 C. elegans channels, in the order of ``CompartmentAttr.gbar_S_cm2``.
CELEGANS_CHANNELS = (
    "shl1", "shk1", "kvs1", "egl2", "egl36", "kqt3", "egl19", "unc2", "cca1",
    "slo1_egl19", "slo1_unc2", "slo2_egl19", "slo2_unc2", "kcnl", "nca", "irk",
)

# Enumerations stored as small integers.
SYN_SPIKE, SYN_GRADED = 0, 1                     # SynapseAttr.syn_type
MODE_CURRENT, MODE_CONDUCTANCE = 0, 1            # SynapseAttr.syn_mode
RECEPTOR_CURRENT, RECEPTOR_CONDUCTANCE, RECEPTOR_GRADED, RECEPTOR_DELTA = 0, 1, 2, 3   # ReceptorType.kind
SYN_TYPES = {"spike": SYN_SPIKE, "graded": SYN_GRADED}
#: Receptor kinds whose synapses add a current (SynapseAttr.syn_mode 0); every other kind is a conductance (1).
CURRENT_KINDS = (RECEPTOR_CURRENT, RECEPTOR_DELTA)
RECEPTOR_KINDS = {"current": RECEPTOR_CURRENT, "conductance": RECEPTOR_CONDUCTANCE, "graded": RECEPTOR_GRADED,
                  "delta": RECEPTOR_DELTA}
COMPARTMENT_KINDS = {"soma": 0, "neurite": 1, "axon": 2, "dendrite": 3}
FLAG_SENSORY, FLAG_MOTOR, FLAG_INHIBITORY = 1, 2, 4      # NeuronAttr.flags bits

#: Maximum number of parameters of a neuron type (``NeuronType.params``).
MAX_TYPE_PARAMS = 14


def _dtype(fields, itemsize):
    names = [f[0] for f in fields]
    formats = [(f[1], f[2]) if len(f) == 4 else f[1] for f in fields]
    offsets = [f[-1] for f in fields]
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": itemsize}).newbyteorder("<")


NeuronAttr = _dtype([
    ("id", "<u8", 0), ("first_comp_id", "<u8", 8), ("neuron_type", "<u4", 16), ("region_id", "<u4", 20),
    ("n_compartment", "<u4", 24), ("cm_pF", "<f4", 28), ("g_leak_nS", "<f4", 32), ("e_leak_mV", "<f4", 36),
    ("x_um", "<f4", 40), ("y_um", "<f4", 44), ("z_um", "<f4", 48), ("flags", "u1", 52),
], 64)

CompartmentAttr = _dtype([
    ("neuron_id", "<u4", 0), ("parent", "<i4", 4), ("kind", "u1", 8),
    ("length_um", "<f4", 12), ("diam_um", "<f4", 16), ("ra_ohm_cm", "<f4", 20), ("cm_uF_cm2", "<f4", 24),
    ("g_pas_S_cm2", "<f4", 28), ("e_pas_mV", "<f4", 32), ("gbar_S_cm2", "<f4", (16,), 36),
], 128)

SynapseAttr = _dtype([
    ("post_neuron", "<u4", 0), ("base_weight", "<f4", 4), ("delay_ticks", "<u2", 8), ("syn_type", "u1", 10),
    ("syn_mode", "u1", 11), ("receptor_type", "u1", 12), ("plastic", "u1", 13), ("count", "<u2", 14),
    ("pre_neuron", "<u4", 16), ("pre_comp", "<u4", 20), ("post_comp", "<u4", 24), ("w_max", "<f4", 28),
], 32)

GapJunction = _dtype([
    ("pre", "<u4", 0), ("post", "<u4", 4), ("weight_nS", "<f4", 8), ("pre_comp", "<u4", 12),
    ("post_comp", "<u4", 16), ("flags", "<u4", 20),
], 24)

#: ``scheme``: index into the model's ``schemes`` (:mod:`braingo_core.models`; 0 = its default, so files written
#: before the field existed read as the default); ``substeps``: sub-steps per tick of a sub-stepped scheme
#: (0 or 1 = one).
NeuronType = _dtype([("model", "<u4", 0), ("n_params", "<u4", 4), ("params", "<f8", (MAX_TYPE_PARAMS,), 8),
                     ("scheme", "u1", 120), ("substeps", "<u2", 122)], 128)

ReceptorType = _dtype([
    ("kind", "<u4", 0), ("e_rev_mV", "<f4", 4), ("tau_rise_ms", "<f4", 8), ("tau_decay_ms", "<f4", 12),
    ("g_max_nS", "<f4", 16), ("v_th_mV", "<f4", 20), ("delta_mV", "<f4", 24), ("k_per_ms", "<f4", 28),
], 64)

#: One per-neuron model parameter (``add_neurons(params=...)``) that differs from its neuron type's value:
#: ``params[param]`` of neuron ``neuron`` is ``value``. Sorted by (neuron, param); only differing values are stored.
NeuronParam = _dtype([("neuron", "<u4", 0), ("param", "<u4", 4), ("value", "<f8", 8)], 16)

Region = _dtype([("id", "<u4", 0), ("parent", "<i4", 4), ("n_neurons", "<u4", 8)], 16)

#: Sizes the format promises (tests assert them).
ITEMSIZES = {
    "NeuronAttr": 64, "CompartmentAttr": 128, "SynapseAttr": 32, "GapJunction": 24, "NeuronType": 128,
    "ReceptorType": 64, "Region": 16, "NeuronParam": 16,
}


def padding_mask(dtype):
    """bool[itemsize]: True at the bytes of a record of ``dtype`` that belong to no field (zero in a file)."""
    used = np.zeros(dtype.itemsize, bool)
    for fdt, off in (f[:2] for f in dtype.fields.values()):
        used[off:off + fdt.itemsize] = True
    return ~used
