"""Touch: contact forces on the body segments -> currents of the gentle-touch neurons.

API
---
``Touch(config)``
    From the ``touch`` section of config/caterpillar.yaml (a BodyConfig). ``neurons`` (tuple of str),
    ``currents(state, dt_s, out=None) -> float64[len(neurons)]`` (pA) from ``state.contact_N`` (float[segments],
    head first; None: 0 pA), ``reset()`` (stateless: nothing to forget).

Map
---
``I = min(gain_pA_per_N * sum of |contact force| on the segments whose centre lies in the neuron's field
[from, to] (fractions of body length from the head), max_pA)``.
"""
import numpy as np

from braingo_core.body.description import finite_number, section_field
from braingo_core.errors import BodyError


class Touch:
    """Contact forces -> saturating touch currents in pA (see the module docstring)."""

    def __init__(self, config):
        fields = dict(section_field(config, "touch", "neurons") or {})
        self.neurons = tuple(str(n) for n in fields)
        self._segments = config.segments
        self._gain = finite_number(config, "touch.gain_pA_per_N", section_field(config, "touch", "gain_pA_per_N"))
        self._max = finite_number(config, "touch.max_pA", section_field(config, "touch", "max_pA"))
        centres = (np.arange(config.segments) + 0.5) / config.segments
        self._field = np.zeros((len(self.neurons), config.segments))
        for k, (name, field) in enumerate(fields.items()):
            lo, hi = (finite_number(config, f"touch.neurons.{name}.{key}", (field or {}).get(key))
                      for key in ("from", "to"))
            if not 0.0 <= lo < hi <= 1.0:
                raise BodyError(f"{config.path}: touch.neurons.{name}: need 0 <= from < to <= 1, got {lo}, {hi}")
            self._field[k] = (centres >= lo) & (centres <= hi)

    def reset(self):
        """Touch has no state."""

    def currents(self, state, dt_s, out=None):
        """Currents float64[len(neurons)] in pA from ``state.contact_N`` (NaN and inf count as 0)."""
        out = np.empty(len(self.neurons)) if out is None else out
        if state.contact_N is None:
            out[:] = 0.0
            return out
        f = np.asarray(state.contact_N, dtype=np.float64)
        if f.shape != (self._segments,):
            raise BodyError(f"contact forces: expected {self._segments} values (one per segment), got {f.shape}")
        np.dot(self._field, np.abs(np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)), out=out)
        out *= self._gain
        return np.minimum(out, self._max, out=out)
