"""The body's senses over one plain body state: which neurons get which current, in one stimulus vector.

API
---
``BodyState(joint_rad, head_xy_m=None, contact_N=None, time_s=0.0)`` (NamedTuple)
    ``joint_rad`` float[n_joints] (joint order), ``head_xy_m`` float[2] head position (None: unknown),
    ``contact_N`` float[segments] contact force per segment, head first (None: unknown), ``time_s`` sim time.
``SENSES``
    Sense name -> class (:class:`~braingo_core.body.proprioception.Proprioception`,
    :class:`~braingo_core.body.chemosensation.Chemosensation`, :class:`~braingo_core.body.touch.Touch`); each
    is built from its own section of config/caterpillar.yaml and returns currents for its own neurons.
``SensoryInput(config=None, neurons=None)``
    Every sense of ``config`` (BodyConfig, YAML path or None for the package's) in :data:`SENSES` order.
    ``neurons``: the output order (/brain/stimulus); default each sense's neurons in turn, first mention
    kept. A name no sense drives gets 0 pA; a neuron driven by two senses gets the sum.
    ``currents(state, dt_s=None, out=None) -> float64[n_neurons]`` (pA); ``dt_s`` defaults to the control
    period (the receptor filters advance by it). ``reset()`` resets every sense.
"""
import logging
from typing import NamedTuple

import numpy as np

from braingo_core.body.chemosensation import Chemosensation
from braingo_core.body.description import BodyConfig, load_config
from braingo_core.body.proprioception import Proprioception
from braingo_core.body.touch import Touch

log = logging.getLogger(__name__)

SENSES = {"proprioception": Proprioception, "chemosensation": Chemosensation, "touch": Touch}


class BodyState(NamedTuple):
    """What the senses read of the body at one instant (SI units)."""
    joint_rad: np.ndarray
    head_xy_m: np.ndarray = None
    contact_N: np.ndarray = None
    time_s: float = 0.0


class SensoryInput:
    """All senses of a body config -> one current vector in a fixed neuron order (see the module docstring)."""

    def __init__(self, config=None, neurons=None):
        self.config = config if isinstance(config, BodyConfig) else load_config(config)
        self.senses = {name: cls(self.config) for name, cls in SENSES.items()}
        if neurons is None:
            neurons = dict.fromkeys(n for sense in self.senses.values() for n in sense.neurons)
        self.neurons = tuple(str(n) for n in neurons)
        self.n_neurons = len(self.neurons)
        index = {n: i for i, n in enumerate(self.neurons)}
        # per sense: (its output rows kept, where they go in self.neurons)
        self._routes = []
        for sense in self.senses.values():
            rows = [k for k, n in enumerate(sense.neurons) if n in index]
            self._routes.append((sense, np.array(rows, dtype=np.int64),
                                 np.array([index[sense.neurons[k]] for k in rows], dtype=np.int64),
                                 np.empty(len(sense.neurons))))
        driven = {n for sense in self.senses.values() for n in sense.neurons}
        if unused := [n for n in self.neurons if n not in driven]:
            log.info("no sense drives %s (0 pA)", ", ".join(unused))

    def reset(self):
        """Every sense's filters back to rest."""
        for sense in self.senses.values():
            sense.reset()

    def currents(self, state, dt_s=None, out=None):
        """Stimulus currents float64[n_neurons] in pA, in ``neurons`` order, for ``state`` (a BodyState)."""
        dt = self.config.control_period_s if dt_s is None else float(dt_s)
        out = np.empty(self.n_neurons) if out is None else out
        out[:] = 0.0
        for sense, rows, targets, buffer in self._routes:
            sense.currents(state, dt, out=buffer)
            if len(rows):
                out[targets] += buffer[rows]
        return out
