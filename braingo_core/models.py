"""Registry of neuron models: name -> integer code stored in the .braindb and its parameters.

The passive membrane of every model comes from ``NeuronAttr`` (``cm_pF``, ``g_leak_nS``, ``e_leak_mV``);
a neuron type adds the model's own parameters, stored in ``NeuronType.params`` in the order listed here.
Compartmental models (``celegans``) take their parameters from ``CompartmentAttr`` records.
"""
from dataclasses import dataclass

from braingo_core.errors import BuilderError


@dataclass(frozen=True)
class NeuronModel:
    """One neuron model: ``code`` stored in the file, ``params`` as ((name, default), ...), ``schemes`` the
    integration schemes it offers (the first is the default; docs/models.md describes each), ``cm_pF`` the
    default capacitance of its neurons."""

    name: str
    code: int
    params: tuple
    doc: str
    schemes: tuple = ("exponential",)
    cm_pF: float = 250.0
    step: object = None

    def scheme_index(self, scheme, where="neuron type"):
        """Index of ``scheme`` (None: the default, 0) in :attr:`schemes`; BuilderError listing them otherwise."""
        if scheme is None:
            return 0
        if scheme not in self.schemes:
            raise BuilderError(f"{where}: unknown integration scheme {scheme!r} for model '{self.name}' "
                               f"(valid: {list(self.schemes)})")
        return self.schemes.index(scheme)

    def param_vector(self, values, where="neuron type"):
        """Parameter values in storage order, defaults filled in; unknown names raise BuilderError."""
        values = dict(values or {})
        known = [p for p, _ in self.params]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise BuilderError(f"{where}: unknown parameter(s) {unknown} for model '{self.name}' (known: {known})")
        out = [float(values.get(p, d)) for p, d in self.params]
        if any(v != v or v in (float("inf"), float("-inf")) for v in out):
            raise BuilderError(f"{where}: non-finite parameter for model '{self.name}': {dict(zip(known, out))}")
        return out


NEURON_MODELS = {m.name: m for m in (
    NeuronModel("lif", 0, (("v_reset_mV", -65.0), ("v_th_mV", -50.0), ("t_ref_ms", 2.0)),
                "leaky integrate-and-fire; tau_m = cm_pF / g_leak_nS, rest = e_leak_mV; spike when V > v_th_mV, "
                "then V = v_reset_mV and V is held for t_ref_ms"),
    NeuronModel("izhikevich", 1, (("a", 0.02), ("b", 0.2), ("c_mV", -65.0), ("d", 8.0), ("v_peak_mV", 30.0)),
                "Izhikevich 2003: dv/dt = 0.04v^2 + 5v + 140 - u + I/cm_pF, du/dt = a(bv - u) (per ms); spike when "
                "v >= v_peak_mV, then v = c_mV, u += d; presets RS (0.02, 0.2, -65, 8), FS (0.1, 0.2, -65, 2), "
                "CH (0.02, 0.2, -50, 2)", schemes=("euler", "netm", "substeps"), cm_pF=1.0),
    NeuronModel("graded", 2, (("v_min_mV", -100.0), ("v_max_mV", 60.0)),
                "non-spiking graded point neuron: cm dV/dt = -g_leak (V - e_leak) + I, V clipped to [v_min, v_max]"),
    NeuronModel("hh", 3, (("g_na_S_cm2", 0.12), ("g_k_S_cm2", 0.036), ("e_na_mV", 50.0), ("e_k_mV", -77.0),
                          ("v_spike_mV", 0.0)),
                "classic Hodgkin-Huxley (squid) Na/K densities in every compartment; leak, capacitance, geometry "
                "and axial resistance from CompartmentAttr (g_pas_S_cm2, e_pas_mV, cm_uF_cm2, ra_ohm_cm); a spike "
                "is an upward crossing of v_spike_mV at the soma"),
    NeuronModel("celegans", 4, (), "C. elegans 16-channel soma + passive neurites (CompartmentAttr densities)",
                schemes=("backward_euler",)),
)}
MODEL_BY_CODE = {m.code: m for m in NEURON_MODELS.values()}

#: Izhikevich (2003) parameter sets, usable as ``add_neuron_type(name, "izhikevich", IZHIKEVICH_PRESETS["RS"])``.
IZHIKEVICH_PRESETS = {
    "RS": {"a": 0.02, "b": 0.2, "c_mV": -65.0, "d": 8.0},     # regular spiking
    "IB": {"a": 0.02, "b": 0.2, "c_mV": -55.0, "d": 4.0},     # intrinsically bursting
    "CH": {"a": 0.02, "b": 0.2, "c_mV": -50.0, "d": 2.0},     # chattering
    "FS": {"a": 0.1, "b": 0.2, "c_mV": -65.0, "d": 2.0},      # fast spiking
    "LTS": {"a": 0.02, "b": 0.25, "c_mV": -65.0, "d": 2.0},   # low-threshold spiking
}
#: Izhikevich scheme codes as the kernel reads them (index into the model's ``schemes``).
IZH_EULER, IZH_NETM, IZH_SUBSTEPS = range(3)


#: First model code of user models (``kernels_neuron.USER_CODE``).
FIRST_USER_CODE = 16


def register_model(name, params, step, doc, cm_pF=1.0):
    """Register a user-defined point-neuron model; returns its :class:`NeuronModel`.

    Parameters
    ----------
    name : str
        New model name (``add_neuron_type(type_name, name, {...})``).
    params : tuple of (name, default)
        Its parameters, at most 5 (stored per neuron type, or per neuron through ``add_neurons(params=)``).
    step : numba function
        ``step(v, u, i_in, p, dt) -> (v, u, fired)``: one tick from the start-of-step ``v`` (mV), second
        state variable ``u`` and input ``i_in`` = summed input current / cm_pF (mV/ms), with ``p`` the
        float64[5] parameter row and ``dt`` ms; it applies its own threshold and reset. The general loop
        runs it (snapshots, recording, lesions, delays and determinism as for the built-in models).
    doc : str
    cm_pF : float
        Default capacitance of its neurons.

    The code stored in the .braindb is the next free one from FIRST_USER_CODE: register models in the same
    order in every process that opens the file.
    """
    if name in NEURON_MODELS:
        raise BuilderError(f"register_model: model '{name}' exists already")
    if len(params) > 5 or not hasattr(step, "py_func"):
        raise BuilderError(f"register_model '{name}': needs at most 5 parameters and a numba.njit step function")
    code = max([FIRST_USER_CODE - 1] + list(MODEL_BY_CODE)) + 1
    model = NeuronModel(name, code, tuple((str(k), float(v)) for k, v in params), doc, ("user",), cm_pF, step)
    NEURON_MODELS[name] = model
    MODEL_BY_CODE[code] = model
    return model


def get_model(name):
    """The :class:`NeuronModel` called ``name``; ValueError listing the valid names otherwise."""
    try:
        return NEURON_MODELS[name]
    except KeyError:
        raise BuilderError(f"unknown neuron model '{name}' (valid: {sorted(NEURON_MODELS)})") from None
