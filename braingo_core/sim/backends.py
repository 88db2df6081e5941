"""Registry of simulation backends: the config's ``model`` name -> engine class (imported lazily) and doc.

Every consumer reads this one table: :func:`braingo_core.sim.config.parse_config` validates ``model``
against it, ``braingo run --model`` takes its names as choices, and :class:`~braingo_core.sim.Simulation`
builds its engine through :func:`resolve`. ``model=None`` (the default) means "each neuron type's own
model": the backend whose ``auto_for`` names a neuron model of the database (the 16-channel ``celegans``
types pick ``celegans``), else :data:`POINT`, the numba point engine.

Adding a backend is one more entry, not a fork of an engine: append ``Backend("name",
"package.module:EngineClass", "one-line doc")`` to :data:`BACKENDS` below, or call :func:`register_backend`
from the module that defines it (imported before the config is parsed). The engine class is constructed as
``EngineClass(db, cfg, **options)`` (``db`` an open :class:`~braingo_core.storage.BrainDB`, ``cfg`` the parsed
config) and provides what :class:`Simulation` calls:

* attributes ``parallel`` (bool), ``i_ext`` float64[n_neurons] (pA, written by the caller), ``lesion``
  (uint8 mask saved in snapshots), ``tick`` int64[1];
* ``advance(n_ticks, recorder=None, on_spikes=None)``: run, filling ``recorder``'s buffers (after
  ``recorder.prepare``) and passing spikes as ``on_spikes(ids, ticks)``;
* ``reset()``, ``soma_voltages()`` (mV per neuron), ``set_lesion(ids, on)``, ``state_arrays()`` (dict of the
  live arrays a snapshot holds) and ``load_state(arrays)`` (SimulationError on a mismatch);
* optionally ``set_initial(key, value)`` (``"v_mV"`` or ``("syn", receptor id)``), used by
  ``Simulation.set_initial_state``; a backend without it refuses initial-state overrides.
"""
import importlib
from dataclasses import dataclass, field

from braingo_core.errors import SimulationError


@dataclass(frozen=True)
class Backend:
    """One backend: ``engine`` = "module:Class", ``options`` passed to its constructor as keywords,
    ``auto_for`` = neuron model names that make ``model=None`` pick it."""

    name: str
    engine: str
    doc: str
    options: dict = field(default_factory=dict)
    auto_for: tuple = ()

    def engine_class(self):
        """The engine class (imports its module on first use)."""
        module, _, cls = self.engine.partition(":")
        return getattr(importlib.import_module(module), cls)

    def create(self, db, cfg):
        """A new engine over ``db`` with the parsed config ``cfg``."""
        return self.engine_class()(db, cfg, **self.options)


#: The default: numba point engine, each neuron running its neuron type's model (LIF, Izhikevich, graded, HH).
POINT = Backend("point", "braingo_core.sim.engine:PointEngine",
                "numba point engine; every neuron runs the model of its neuron type")

#: Backends selectable by name (config ``model``, ``braingo run --model``, the brain node's ``model``).
BACKENDS = {b.name: b for b in (
    Backend("graded", "braingo_core.sim.engine:PointEngine",
            "numba point engine with every neuron a graded (non-spiking) point neuron, whatever its type says",
            options={"neuron_model": "graded"}),
    Backend("celegans", "braingo_core.sim.celegans_backend:CelegansBackend",
            "C. elegans 16-channel compartmental model (sim.celegans)", auto_for=("celegans",)),
    Backend("fly", "braingo_core.sim.fly_backend:FlyBackend",
            "current-based LIF with Brian2's semantics (Shiu et al. 2024 fly model), over MPI ranks under mpiexec"),
)}


def register_backend(backend):
    """Add ``backend`` (a :class:`Backend`) to :data:`BACKENDS`; ValueError if its name is taken."""
    if not isinstance(backend, Backend):
        raise TypeError(f"register_backend: expected a Backend, got {type(backend).__name__}")
    if backend.name in BACKENDS or backend.name == POINT.name:
        raise SimulationError(f"register_backend: backend '{backend.name}' exists already")
    BACKENDS[backend.name] = backend
    return backend


def backend_names():
    """Sorted names of the selectable backends."""
    return sorted(BACKENDS)


def get_backend(name):
    """The :class:`Backend` called ``name``; SimulationError (a ValueError) listing the valid names otherwise."""
    try:
        return BACKENDS[name]
    except (KeyError, TypeError):
        raise SimulationError(f"unknown model {name!r}: valid are None (each neuron type's own model) or one of "
                              f"{backend_names()}") from None


def resolve(name, neuron_models=()):
    """(backend, model name recorded by the simulation) for config ``model`` ``name``.

    ``neuron_models``: names of the neuron models of the database's types, for ``name=None``.
    """
    if name is not None:
        return get_backend(name), name
    for b in BACKENDS.values():
        if set(b.auto_for) & set(neuron_models):
            return b, b.name
    return POINT, None
