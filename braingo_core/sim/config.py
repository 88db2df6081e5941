"""Simulation settings: each one registered once with its default and validated in one place.

A config is a plain dict; :func:`parse_config` fills defaults and raises
:class:`~braingo_core.errors.SimulationError` naming the offending key and value.

Keys
----
model : None or a backend name of :mod:`braingo_core.sim.backends`
    None: every neuron runs the model of its neuron type (a database of 16-channel C. elegans types
    runs the "celegans" backend). "graded": every neuron is a graded (non-spiking) point neuron,
    whatever its type says (the worm's fast mode). "celegans": the 16-channel compartmental model of
    :mod:`braingo_core.sim.celegans`. The valid names are ``backends.backend_names()``.
seed : int
    Seed of the external Poisson drive (the only randomness of the engine).
threads : "auto", 1 or 2+
    1 runs the serial kernels; more (or "auto" for networks of >= 20,000 neurons or >= 1e6
    synapses) runs the numba-parallel ones. Results are bitwise identical either way.
stdp : bool or dict
    Enable STDP on plastic synapses; a dict overrides ``a_plus`` (fraction of w_max per pair),
    ``a_minus_ratio`` (A-/A+, 1.05), ``tau_plus_ms``, ``tau_minus_ms`` (20) and ``batch_ms`` (100).
poisson : None or dict
    External drive, as Brian's PoissonInput: every neuron of ``ids`` (default all) gets ``n`` independent
    Poisson trains of ``rate_Hz`` each; each input spike adds ``weight`` to ``receptor`` (name or id).
max_ring_bytes : int
    Upper bound for the delay ring's memory; a network that would need more raises SimulationError.
synapse_weight_scale : float >= 0
    Factor on every chemical-synapse weight (spike and graded) as the network is built from the
    database (1.0: as stored; 0: no synaptic transmission). STDP's ``w_max`` is not scaled.
    Not set: with model "graded", the database's metadata ``graded_weight_scales`` entry, else 1.0.
gap_weight_scale : float >= 0
    Factor on every gap-junction conductance as the network is built; not set: as synapse_weight_scale.
"""
import math
import numbers

from braingo_core.errors import SimulationError
from braingo_core.sim.backends import get_backend

STDP_DEFAULTS = {"a_plus": 0.01, "a_minus_ratio": 1.05, "tau_plus_ms": 20.0, "tau_minus_ms": 20.0,
                 "batch_ms": 100.0}
#: Largest seed (the random streams are seeded from a signed 64-bit integer).
MAX_SEED = 2 ** 63 - 1
DEFAULTS = {"model": None, "seed": 0, "threads": "auto", "stdp": False, "poisson": None,
            "max_ring_bytes": 2 << 30, "synapse_weight_scale": 1.0, "gap_weight_scale": 1.0}


def _finite(where, value, positive=False):
    if not isinstance(value, numbers.Real) or not math.isfinite(value) or (positive and value <= 0):
        kind = "a positive finite number" if positive else "a finite number"
        raise SimulationError(f"config {where}: {value!r} is not {kind}")
    return float(value)


def parse_config(config):
    """Validated copy of ``config`` with defaults filled in (see the module docstring)."""
    cfg = dict(DEFAULTS)
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise SimulationError(f"config must be a dict, got {type(config).__name__}")
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise SimulationError(f"config: unknown key(s) {unknown} (known: {sorted(DEFAULTS)})")
    cfg.update(config)
    if cfg["model"] is not None:
        try:
            get_backend(cfg["model"])
        except SimulationError as exc:
            raise SimulationError(f"config model: {exc}") from None
    if isinstance(cfg["seed"], bool) or not isinstance(cfg["seed"], numbers.Integral) \
            or not 0 <= cfg["seed"] <= MAX_SEED:
        raise SimulationError(f"config seed: {cfg['seed']!r} is not an integer in [0, {MAX_SEED}]")
    th = cfg["threads"]
    if th != "auto" and not (isinstance(th, numbers.Integral) and th >= 1):
        raise SimulationError(f"config threads: {th!r} is not 'auto' or a positive integer")
    stdp = cfg["stdp"]
    if isinstance(stdp, dict):
        bad = sorted(set(stdp) - set(STDP_DEFAULTS))
        if bad:
            raise SimulationError(f"config stdp: unknown key(s) {bad} (known: {sorted(STDP_DEFAULTS)})")
        cfg["stdp"] = {k: _finite(f"stdp.{k}", stdp.get(k, d), positive=k != "a_plus")
                       for k, d in STDP_DEFAULTS.items()}
    elif stdp is True:
        cfg["stdp"] = dict(STDP_DEFAULTS)
    elif stdp in (False, None):
        cfg["stdp"] = None
    else:
        raise SimulationError(f"config stdp: {stdp!r} is not a bool or a dict")
    if cfg["poisson"] is not None:
        p = cfg["poisson"]
        if not isinstance(p, dict) or not {"n", "rate_Hz", "weight", "receptor"} <= set(p):
            raise SimulationError("config poisson: needs a dict with n, rate_Hz, weight, receptor (and ids)")
        if not isinstance(p["n"], numbers.Integral) or p["n"] < 1:
            raise SimulationError(f"config poisson.n: {p['n']!r} is not a positive integer")
        _finite("poisson.rate_Hz", p["rate_Hz"])
        _finite("poisson.weight", p["weight"])
        if p["rate_Hz"] < 0:
            raise SimulationError(f"config poisson.rate_Hz: {p['rate_Hz']} is negative")
    if not isinstance(cfg["max_ring_bytes"], numbers.Integral) or cfg["max_ring_bytes"] <= 0:
        raise SimulationError(f"config max_ring_bytes: {cfg['max_ring_bytes']!r} is not a positive integer")
    for key in ("synapse_weight_scale", "gap_weight_scale"):
        val = cfg[key]
        if isinstance(val, bool) or not isinstance(val, numbers.Real) or not math.isfinite(val) or val < 0:
            raise SimulationError(f"config {key}: {val!r} is not a finite number >= 0")
        cfg[key] = float(val)
    return cfg
