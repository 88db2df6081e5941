"""Chemosensation: head position in a concentration field -> currents of the chemosensory neurons.

API
---
``Chemosensation(config)``
    From the ``chemosensation`` section of config/caterpillar.yaml (a BodyConfig); with ``enabled: false``
    it has no neurons. ``neurons`` (tuple of str), ``currents(state, dt_s, out=None) -> float64[len(neurons)]``
    (pA) from ``state.head_xy_m`` (None: 0 pA, the rate filter untouched), ``reset()``.

Map
---
``C = peak * exp(-|head - source|^2 / (2 sigma^2))`` (arbitrary units, 1 = peak); ``I = gain_pA * C +
rate_gain_pA_s * dC/dt`` with dC/dt low-passed over ``rate_tau_s`` (0 on the first sample).
"""
import numpy as np

from braingo_core.body.description import finite_number, section_field
from braingo_core.errors import BodyError


class Chemosensation:
    """Concentration at the head -> level and rate currents in pA (see the module docstring)."""

    def __init__(self, config):
        section = config.sections["chemosensation"]
        neurons = dict(section_field(config, "chemosensation", "neurons") or {}) if section.get("enabled") else {}
        self.neurons = tuple(str(n) for n in neurons)
        self._gain = np.zeros((2, len(self.neurons)))
        if neurons:
            number = lambda key: finite_number(                                   # noqa: E731
                config, f"chemosensation.{key}", section_field(config, "chemosensation", key))
            self._source = np.array([finite_number(config, "chemosensation.source_m", v)
                                     for v in section_field(config, "chemosensation", "source_m")])
            if self._source.shape != (2,):
                raise BodyError(f"{config.path}: chemosensation.source_m must be [x, y]")
            self._sigma, self._peak, self._tau = number("sigma_m"), number("peak"), number("rate_tau_s")
            if self._sigma <= 0 or self._tau <= 0:
                raise BodyError(f"{config.path}: chemosensation.sigma_m and rate_tau_s must be > 0")
            for k, (name, gains) in enumerate(neurons.items()):
                for row, key in enumerate(("gain_pA", "rate_gain_pA_s")):
                    self._gain[row, k] = finite_number(config, f"chemosensation.neurons.{name}.{key}",
                                                       (gains or {}).get(key, 0.0))
        self.reset()

    def reset(self):
        """Forget the concentration history (dC/dt = 0)."""
        self._last_c = None
        self._rate = 0.0

    def currents(self, state, dt_s, out=None):
        """Currents float64[len(neurons)] in pA at ``state.head_xy_m`` (NaN counts as 0)."""
        out = np.empty(len(self.neurons)) if out is None else out
        out[:] = 0.0
        if state.head_xy_m is None or not len(self.neurons):
            return out
        p = np.nan_to_num(np.asarray(state.head_xy_m, dtype=np.float64)[:2], nan=0.0)
        c = self._peak * np.exp(-np.sum((p - self._source) ** 2) / (2.0 * self._sigma ** 2))
        if self._last_c is not None and dt_s > 0:
            self._rate += min(dt_s / self._tau, 1.0) * ((c - self._last_c) / dt_s - self._rate)
        self._last_c = c
        out += self._gain[0] * c + self._gain[1] * self._rate
        return out
