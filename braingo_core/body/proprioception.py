"""Body state -> stimulus currents: proprioception, chemosensation and touch (maps in config).

API
---
``ProprioceptionMap(config=None, neurons=None)``
    ``config``: BodyConfig, YAML path or None (package default). ``neurons``: output order; default the
    config's proprioceptive neurons, then the chemosensory ones (when ``chemosensation.enabled``), then
    the touch neurons. A name that no map mentions gets 0 pA.
    ``neurons`` (tuple of str), ``n_neurons``.
    ``currents(joint_pos_rad, head_xy_m=None, contact_N=None, dt_s=None, out=None) -> float64[n_neurons]``
    (pA). ``joint_pos_rad``: float[n_joints], joint order; ``head_xy_m``: head position for the
    concentration field (None: no chemosensory input); ``contact_N``: float[segments] contact force per
    segment (None: no touch); ``dt_s``: time since the previous call (default the control period)
    for the concentration rate and the receptor filters. NaN inputs count as 0.
    ``reset()``: forget the filter states (adaptation, coupling, concentration history).
``proprioceptive_rows(neurons, nmj_weights, muscle_names, span=2) -> dict``
    The sensing rule: B-class (DB/VB) senses its first ``span`` NMJ rows (its own segment) and couples to
    the ``span`` rows ``span`` rows further anterior; A-class (DA/VA) the mirror image (last NMJ rows,
    coupling posterior). Returns ``{name: {"side": ..., "rows": [...], "coupling_rows": [...], "command": ...}}``
    for the ``proprioception.neurons`` section of config/caterpillar.yaml.

Maps
----
- Proprioception (row angles = the joint angles interpolated to the 24 muscle rows, ``row_joint``; side
  +1 dorsal, -1 ventral; positive joint angle = dorsal bend, so bending towards the neuron's side is
  positive):

  * own segment, adapting: ``I_own = g * side * mean(rows)``, high-passed with ``adaptation_tau_s``
    (the receptor adapts to a held bend: ``I = I_own - a``, ``da/dt = (I_own - a) / tau``);
  * coupling, low-passed: ``I_c = g_c * side * mean(coupling_rows)`` of the joint angles low-passed with
    ``coupling_tau_s``.

  ``I = I_own + I_c`` (only the positive part with ``rectify``). A bend of its own segment excites a unit
  and then fades, so a driven unit swings to one side, adapts and is pulled back by the body's
  elasticity and the other side: a relaxation oscillator. The command gate
  (:mod:`braingo_core.body.command_gate`) passes a class's current only while its command interneurons
  are depolarised (AVB for B-class, AVA for A-class). The delayed coupling to the anterior body makes each
  unit follow the one in front of it, so the wave travels head to tail (A-class: posterior, tail to head). ``g`` and ``g_c`` default to the section's
  ``gain_pA_per_rad`` / ``coupling_gain_pA_per_rad``; a neuron entry may override either.
- Chemosensation: ``C = peak * exp(-|head - source|^2 / (2 sigma^2))``; ``I = gain_pA * C +
  rate_gain_pA_s * dC/dt`` with dC/dt low-passed over ``rate_tau_s``.
- Touch: ``I = min(gain_pA_per_N * sum of contact force on the segments whose centre lies in the
  neuron's field [from, to] (fractions of body length from the head), max_pA)``.
"""
import logging
import re

import numpy as np

from braingo_core.body.description import N_ROWS, BodyConfig, load_config
from braingo_core.errors import BodyError

log = logging.getLogger(__name__)

_SIDES = {"dorsal": 1.0, "ventral": -1.0}


def _section(config, name, key):
    section = config.sections[name]
    if key not in section:
        raise BodyError(f"{config.path}: {name}: missing field '{key}'")
    return section[key]


def _number(config, where, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise BodyError(f"{config.path}: {where} must be a finite number, got {value!r}")
    return float(value)


class ProprioceptionMap:
    """Joint angles (+ head position, contact forces) -> stimulus currents in pA (see module docstring)."""

    def __init__(self, config=None, neurons=None):
        self.config = config if isinstance(config, BodyConfig) else load_config(config)
        cfg = self.config
        proprio = self._proprio_rows(cfg)
        chemo_cfg = cfg.sections["chemosensation"]
        chemo = dict(_section(cfg, "chemosensation", "neurons")) if chemo_cfg.get("enabled") else {}
        touch = dict(_section(cfg, "touch", "neurons"))
        if neurons is None:
            neurons = list(dict.fromkeys([*proprio, *chemo, *touch]))
        self.neurons = tuple(str(n) for n in neurons)
        self.n_neurons = len(self.neurons)
        index = {n: i for i, n in enumerate(self.neurons)}
        if unused := [n for n in self.neurons if n not in proprio and n not in chemo and n not in touch]:
            log.info("no sensory map drives %s (0 pA)", ", ".join(unused))
        n = self.n_neurons

        section = cfg.sections["proprioception"]
        self._rectify = bool(section.get("rectify", False))
        self._proprio = np.zeros((n, cfg.n_joints))
        self._coupling = np.zeros((n, cfg.n_joints))
        def field(rows):                         # mean row angle per unit joint angle, float[n_joints]
            return cfg.row_joint[np.array(rows) - 1].mean(axis=0) if rows else 0.0

        for name, (side, rows, coupling_rows, gain, coupling_gain) in proprio.items():
            if name in index:
                self._proprio[index[name]] = gain * side * field(rows)
                self._coupling[index[name]] = coupling_gain * side * field(coupling_rows)
        self._adapt_tau, self._coupling_tau = (
            _number(cfg, f"proprioception.{key}", section.get(key, 0.0))
            for key in ("adaptation_tau_s", "coupling_tau_s"))
        if self._adapt_tau < 0 or self._coupling_tau < 0:
            raise BodyError(f"{cfg.path}: proprioception.adaptation_tau_s and coupling_tau_s must be >= 0 (0 = off)")
        self._own = np.zeros(n)

        self._chemo_gain = np.zeros((2, n))
        if chemo:
            self._source = np.array([_number(cfg, "chemosensation.source_m", v)
                                     for v in _section(cfg, "chemosensation", "source_m")])
            if self._source.shape != (2,):
                raise BodyError(f"{cfg.path}: chemosensation.source_m must be [x, y]")
            self._sigma = _number(cfg, "chemosensation.sigma_m", _section(cfg, "chemosensation", "sigma_m"))
            self._peak = _number(cfg, "chemosensation.peak", _section(cfg, "chemosensation", "peak"))
            self._tau = _number(cfg, "chemosensation.rate_tau_s", _section(cfg, "chemosensation", "rate_tau_s"))
            if self._sigma <= 0 or self._tau <= 0:
                raise BodyError(f"{cfg.path}: chemosensation.sigma_m and rate_tau_s must be > 0")
            for name, g in chemo.items():
                if name in index:
                    for row, key in enumerate(("gain_pA", "rate_gain_pA_s")):
                        self._chemo_gain[row, index[name]] = _number(
                            cfg, f"chemosensation.neurons.{name}.{key}", (g or {}).get(key, 0.0))

        self._touch = np.zeros((n, cfg.segments))
        self._touch_gain = _number(cfg, "touch.gain_pA_per_N", _section(cfg, "touch", "gain_pA_per_N"))
        self._touch_max = _number(cfg, "touch.max_pA", _section(cfg, "touch", "max_pA"))
        centres = (np.arange(cfg.segments) + 0.5) / cfg.segments
        for name, field in touch.items():
            lo, hi = (_number(cfg, f"touch.neurons.{name}.{k}", (field or {}).get(k)) for k in ("from", "to"))
            if not 0.0 <= lo < hi <= 1.0:
                raise BodyError(f"{cfg.path}: touch.neurons.{name}: need 0 <= from < to <= 1, got {lo}, {hi}")
            if name in index:
                self._touch[index[name]] = (centres >= lo) & (centres <= hi)
        self.reset()

    @staticmethod
    def _proprio_rows(cfg):
        """``{name: (side, rows, coupling_rows, gain, coupling_gain)}`` from the ``proprioception`` section."""
        section = cfg.sections["proprioception"]
        gain = _number(cfg, "proprioception.gain_pA_per_rad", _section(cfg, "proprioception", "gain_pA_per_rad"))
        coupling_gain = _number(cfg, "proprioception.coupling_gain_pA_per_rad",
                                section.get("coupling_gain_pA_per_rad", 0.0))
        out = {}
        for name, entry in (_section(cfg, "proprioception", "neurons") or {}).items():
            entry = entry or {}
            side, rows, coupling_rows = entry.get("side"), entry.get("rows"), entry.get("coupling_rows", [])
            if unknown := sorted(set(entry) - {"side", "rows", "coupling_rows", "gain_pA_per_rad",
                                               "coupling_gain_pA_per_rad", "command"}):
                raise BodyError(f"{cfg.path}: proprioception.neurons.{name}: unknown key(s) {unknown}")
            if (side not in _SIDES or not rows or not isinstance(coupling_rows, list)
                    or not all(isinstance(r, int) and 1 <= r <= N_ROWS for r in [*rows, *coupling_rows])):
                raise BodyError(f"{cfg.path}: proprioception.neurons.{name}: need side dorsal|ventral, rows and "
                                f"optional coupling_rows in 1..{N_ROWS}, got {entry!r}")
            out[name] = (_SIDES[side], rows, coupling_rows,
                         _number(cfg, f"proprioception.neurons.{name}.gain_pA_per_rad",
                                 entry.get("gain_pA_per_rad", gain)),
                         _number(cfg, f"proprioception.neurons.{name}.coupling_gain_pA_per_rad",
                                 entry.get("coupling_gain_pA_per_rad", coupling_gain)))
        return out

    def reset(self):
        """Forget the filter states: receptors unadapted, coupling at a straight body, dC/dt = 0."""
        self._adapted = np.zeros(self.n_neurons)
        self._theta_lp = np.zeros(self.config.n_joints)
        self._last_c = None
        self._rate = 0.0

    def currents(self, joint_pos_rad, head_xy_m=None, contact_N=None, dt_s=None, out=None):
        """Stimulus currents float64[n_neurons] in pA, in ``neurons`` order."""
        cfg = self.config
        theta = np.asarray(joint_pos_rad, dtype=np.float64)
        if theta.shape != (cfg.n_joints,):
            raise BodyError(f"joint positions: expected {cfg.n_joints} values (joint order), got shape {theta.shape}")
        out = np.empty(self.n_neurons) if out is None else out
        dt = cfg.control_period_s if dt_s is None else float(dt_s)
        theta = np.nan_to_num(theta, nan=0.0, posinf=0.0, neginf=0.0)
        own = np.dot(self._proprio, theta, out=self._own)
        if self._adapt_tau > 0:
            self._adapted += -np.expm1(-dt / self._adapt_tau) * (own - self._adapted)
            own -= self._adapted
        self._theta_lp += (-np.expm1(-dt / self._coupling_tau) if self._coupling_tau > 0 else 1.0) * (
            theta - self._theta_lp)
        np.dot(self._coupling, self._theta_lp, out=out)
        out += own
        if self._rectify:
            np.maximum(out, 0.0, out=out)
        if head_xy_m is not None and self._chemo_gain.any():
            p = np.nan_to_num(np.asarray(head_xy_m, dtype=np.float64)[:2], nan=0.0)
            c = self._peak * np.exp(-np.sum((p - self._source) ** 2) / (2.0 * self._sigma ** 2))
            if self._last_c is not None and dt > 0:
                self._rate += min(dt / self._tau, 1.0) * ((c - self._last_c) / dt - self._rate)
            self._last_c = c
            out += self._chemo_gain[0] * c + self._chemo_gain[1] * self._rate
        if contact_N is not None:
            f = np.asarray(contact_N, dtype=np.float64)
            if f.shape != (cfg.segments,):
                raise BodyError(f"contact forces: expected {cfg.segments} values (one per segment), got {f.shape}")
            touch = self._touch @ np.abs(np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0))
            out += np.minimum(self._touch_gain * touch, self._touch_max)
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
