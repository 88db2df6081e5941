"""Proprioception: joint angles -> stretch-receptor currents of the A- and B-class motor neurons.

API
---
``Proprioception(config)``
    From the ``proprioception`` section of config/caterpillar.yaml (a BodyConfig). ``neurons`` (tuple of
    str, the section's order), ``currents(state, dt_s, out=None) -> float64[len(neurons)]`` (pA) from
    ``state.joint_rad`` (:class:`braingo_core.body.senses.BodyState`), ``reset()`` (filters to rest).
``proprioceptive_rows(neurons, nmj_weights, muscle_names, span=2) -> dict``
    The sensing rule: B-class (DB/VB) senses its first ``span`` NMJ rows (its own segment) and couples to
    the ``span`` rows ``span`` rows further anterior; A-class (DA/VA) the mirror image (last NMJ rows,
    coupling posterior). Returns ``{name: {"side": ..., "rows": [...], "coupling_rows": [...], "command": ...}}``
    for the ``proprioception.neurons`` section of config/caterpillar.yaml.

Map
---
Row angles = the joint angles interpolated to the 24 muscle rows (``row_joint``); side +1 dorsal, -1 ventral;
positive joint angle = dorsal bend, so bending towards the neuron's side is positive.

* own segment, adapting: ``I_own = g * side * mean(rows)``, high-passed with ``adaptation_tau_s`` (the
  receptor adapts to a held bend: ``I = I_own - a``, ``da/dt = (I_own - a) / tau``);
* coupling, low-passed: ``I_c = g_c * side * mean(coupling_rows)`` of the joint angles low-passed with
  ``coupling_tau_s``.

``I = I_own + I_c`` (only the positive part with ``rectify``), saturating at ``saturation_pA`` when it is
> 0: ``I = I_sat tanh(I / I_sat)`` (the receptor's current is bounded, so the unit switches on a bend past
about ``I_sat / g`` rather than following its size). A bend of its own segment excites a unit and
then fades, so a driven unit swings to one side, adapts and is pulled back by the body's elasticity and the
other side: a relaxation oscillator. The command gate (:mod:`braingo_core.body.command_gate`) passes a class's
current only while its command interneurons are depolarised (AVB for B-class, AVA for A-class). The delayed
coupling to the anterior body makes each unit follow the one in front of it, so the wave travels head to tail
(A-class: posterior, tail to head). ``g`` and ``g_c`` default to the section's ``gain_pA_per_rad`` /
``coupling_gain_pA_per_rad``; a neuron entry may override either.
"""
import re

import numpy as np

from braingo_core.body.description import N_ROWS, finite_number, section_field
from braingo_core.errors import BodyError

_SIDES = {"dorsal": 1.0, "ventral": -1.0}
_KEYS = {"side", "rows", "coupling_rows", "gain_pA_per_rad", "coupling_gain_pA_per_rad", "command"}


class Proprioception:
    """Joint angles -> stretch-receptor currents in pA (see the module docstring)."""

    def __init__(self, config):
        self.config = config
        rows = self._rows(config)
        self.neurons = tuple(rows)
        n = len(self.neurons)
        section = config.sections["proprioception"]
        self._rectify = bool(section.get("rectify", False))
        self._proprio = np.zeros((n, config.n_joints))
        self._coupling = np.zeros((n, config.n_joints))

        def field(rows):                         # mean row angle per unit joint angle, float[n_joints]
            return config.row_joint[np.array(rows) - 1].mean(axis=0) if rows else 0.0

        for k, (side, own, coupling, gain, coupling_gain) in enumerate(rows.values()):
            self._proprio[k] = gain * side * field(own)
            self._coupling[k] = coupling_gain * side * field(coupling)
        self._adapt_tau, self._coupling_tau = (
            finite_number(config, f"proprioception.{key}", section.get(key, 0.0))
            for key in ("adaptation_tau_s", "coupling_tau_s"))
        self._saturation_pA = finite_number(config, "proprioception.saturation_pA", section.get("saturation_pA", 0.0))
        if self._adapt_tau < 0 or self._coupling_tau < 0 or self._saturation_pA < 0:
            raise BodyError(f"{config.path}: proprioception.adaptation_tau_s, coupling_tau_s and saturation_pA must be "
                            f">= 0 "
                            f"(0 = off)")
        self._own = np.zeros(n)
        self.reset()

    @staticmethod
    def _rows(cfg):
        """``{name: (side, rows, coupling_rows, gain, coupling_gain)}`` from the ``proprioception`` section."""
        section = cfg.sections["proprioception"]
        gain = finite_number(cfg, "proprioception.gain_pA_per_rad",
                             section_field(cfg, "proprioception", "gain_pA_per_rad"))
        coupling_gain = finite_number(cfg, "proprioception.coupling_gain_pA_per_rad",
                                      section.get("coupling_gain_pA_per_rad", 0.0))
        out = {}
        for name, entry in (section_field(cfg, "proprioception", "neurons") or {}).items():
            entry = entry or {}
            side, rows, coupling_rows = entry.get("side"), entry.get("rows"), entry.get("coupling_rows", [])
            if unknown := sorted(set(entry) - _KEYS):
                raise BodyError(f"{cfg.path}: proprioception.neurons.{name}: unknown key(s) {unknown}")
            if (side not in _SIDES or not rows or not isinstance(coupling_rows, list)
                    or not all(isinstance(r, int) and 1 <= r <= N_ROWS for r in [*rows, *coupling_rows])):
                raise BodyError(f"{cfg.path}: proprioception.neurons.{name}: need side dorsal|ventral, rows and "
                                f"optional coupling_rows in 1..{N_ROWS}, got {entry!r}")
            out[str(name)] = (_SIDES[side], rows, coupling_rows,
                              finite_number(cfg, f"proprioception.neurons.{name}.gain_pA_per_rad",
                                            entry.get("gain_pA_per_rad", gain)),
                              finite_number(cfg, f"proprioception.neurons.{name}.coupling_gain_pA_per_rad",
                                            entry.get("coupling_gain_pA_per_rad", coupling_gain)))
        return out

    def reset(self):
        """Receptors unadapted, coupling at a straight body."""
        self._adapted = np.zeros(len(self.neurons))
        self._theta_lp = np.zeros(self.config.n_joints)

    def currents(self, state, dt_s, out=None):
        """Receptor currents float64[len(neurons)] in pA from ``state.joint_rad`` (NaN counts as 0)."""
        theta = np.asarray(state.joint_rad, dtype=np.float64)
        if theta.shape != (self.config.n_joints,):
            raise BodyError(f"joint positions: expected {self.config.n_joints} values (joint order), "
                            f"got shape {theta.shape}")
        out = np.empty(len(self.neurons)) if out is None else out
        theta = np.nan_to_num(theta, nan=0.0, posinf=0.0, neginf=0.0)
        own = np.dot(self._proprio, theta, out=self._own)
        if self._adapt_tau > 0:
            self._adapted += -np.expm1(-dt_s / self._adapt_tau) * (own - self._adapted)
            own -= self._adapted
        self._theta_lp += (-np.expm1(-dt_s / self._coupling_tau) if self._coupling_tau > 0 else 1.0) * (
            theta - self._theta_lp)
        np.dot(self._coupling, self._theta_lp, out=out)
        out += own
        if self._rectify:
            np.maximum(out, 0.0, out=out)
        if self._saturation_pA > 0:
            np.tanh(out / self._saturation_pA, out=out)
            out *= self._saturation_pA
        return out


def proprioceptive_rows(neurons, nmj_weights, muscle_names, span=2):
    """Own and coupling muscle rows of each A- and B-class motor neuron, from its neuromuscular junctions.

    Parameters
    ----------
    neurons : sequence of str
        Neuron names (Cook padding: ``DB01``), rows of ``nmj_weights``.
    nmj_weights : float[n_neurons, 96]
        Neuron->muscle NMJ counts, columns in ``muscle_names`` order.
    muscle_names : sequence of 96 str
        ``<D|V><L|R><row 01..24>`` names (``D`` = dorsal).
    span : int
        Rows per receptive field.

    Returns
    -------
    dict
        ``{name: {"side": "dorsal"|"ventral", "rows": [...], "coupling_rows": [...], "command": ...}}``
        (1-based rows; ``command``: ``forward`` for B-class, ``backward`` for A-class, the key of the
        command neurons that gate it, :mod:`braingo_core.body.command_gate`).
        B-class: ``rows`` = its first ``span`` NMJ rows on its side, ``coupling_rows`` = the ``span`` rows
        ending ``span`` rows anterior to them (Wen et al. 2012: B-class senses the anterior body); A-class:
        the mirror image towards the tail. Fields are clipped to the body.
    """
    w = np.asarray(nmj_weights, dtype=np.float64)
    if w.shape != (len(neurons), len(muscle_names)):
        raise BodyError(f"NMJ weights: shape {w.shape}, expected ({len(neurons)}, {len(muscle_names)})")
    rows = np.array([int(m[2:]) for m in muscle_names])
    dorsal = np.array([m.startswith("D") for m in muscle_names])

    def field(first, last):
        return sorted(set(np.clip(np.arange(first, last + 1), 1, N_ROWS).tolist()))

    out = {}
    for name, weights in zip(neurons, w):
        ab = re.match(r"^([DV])([AB])\d\d$", name)
        if not ab:
            continue
        nmj = sorted(set(rows[(weights > 0) & (dorsal if ab[1] == "D" else ~dorsal)].tolist()))
        if not nmj:
            continue
        if ab[2] == "B":
            own, coupling = field(nmj[0], nmj[0] + span - 1), field(nmj[0] - 2 * span, nmj[0] - span - 1)
        else:
            own, coupling = field(nmj[-1] - span + 1, nmj[-1]), field(nmj[-1] + span + 1, nmj[-1] + 2 * span)
        out[name] = {"side": "dorsal" if ab[1] == "D" else "ventral", "rows": own, "coupling_rows": coupling,
                     "command": "forward" if ab[2] == "B" else "backward"}
    return out
