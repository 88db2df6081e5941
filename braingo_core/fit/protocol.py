"""The measurement a fit compares with a recording: drive, simulated time, calcium indicator, frames, correlation.

* **Drive** (fixed, seeded, never learned): every neuron receives its own current, an Ornstein-Uhlenbeck
  process (mean ``drive_mean_pA``, s.d. ``drive_sd_pA``, correlation time ``drive_tau_s``) sampled and
  held for ``hold_ms`` at a time. It stands for the unrecorded sensory and internal input of a freely
  moving worm.
* **Time**: ``warmup_s`` discarded, then ``duration_s`` (>= 60 s) measured.
* **Calcium indicator**: ``F = sigmoid((V - v_half_mV) / slope_mV)`` (a GCaMP-like saturating readout of
  depolarisation), low-passed with the indicator's decay ``ca_tau_s``:
  ``Ca_k = a Ca_(k-1) + (1 - a) F_k``, ``a = exp(-h / ca_tau_s)``, on voltage samples h = ``sample_ms`` apart,
  starting at ``Ca_0 = F_0``.
* **Frames**: Ca sampled at the recording's frame interval from the end of the warm-up, then the Pearson
  correlation between neurons over the frames.

The same protocol runs on the twin (step ``sample_ms``) and on the Numba engine (the database's step,
voltages recorded every ``sample_ms``), so a fitted database is scored by the runtime itself.
"""
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from braingo_core.fit.twin import DTYPE

_BLOCK = 64


@dataclass(frozen=True)
class Protocol:
    """Settings of the measurement (see the module docstring); times in s, ms where the name says so."""

    duration_s: float = 60.0
    warmup_s: float = 5.0
    sample_ms: float = 5.0
    hold_ms: float = 50.0
    drive_mean_pA: float = 0.0
    drive_sd_pA: float = 6.0
    drive_tau_s: float = 1.0
    drive_seed: int = 0
    v_half_mV: float = -40.0
    slope_mV: float = 5.0
    ca_tau_s: float = 1.0

    def as_dict(self):
        return asdict(self)

    @property
    def hold_steps(self):
        """Twin steps (of ``sample_ms``) per drive row."""
        return max(1, int(round(self.hold_ms / self.sample_ms)))

    @property
    def n_rows(self):
        """Drive rows covering warm-up + duration."""
        return int(math.ceil((self.warmup_s + self.duration_s) * 1000.0 / (self.hold_steps * self.sample_ms)))

    def drive(self, n):
        """float64[n_rows, n] currents (pA), reproducible from ``drive_seed``."""
        rng = np.random.default_rng(self.drive_seed)
        hold_s = self.hold_steps * self.sample_ms / 1000.0
        a = math.exp(-hold_s / self.drive_tau_s) if self.drive_tau_s > 0 else 0.0
        x = np.empty((self.n_rows, n))
        x[0] = rng.standard_normal(n)
        noise = rng.standard_normal((self.n_rows, n)) * math.sqrt(1.0 - a * a)
        for k in range(1, self.n_rows):
            x[k] = a * x[k - 1] + noise[k]
        return self.drive_mean_pA + self.drive_sd_pA * x

    def frame_index(self, frame_s, n_samples):
        """Sample indices of the frames (every ``frame_s`` s from the end of the warm-up)."""
        n_frames = int(self.duration_s / frame_s)
        t = self.warmup_s + frame_s * np.arange(n_frames)
        idx = np.rint(t * 1000.0 / self.sample_ms).astype(np.int64)
        return idx[idx < n_samples]

    def calcium(self, v):
        """Indicator trace [S, n] from voltage samples ``v`` [S, n] (torch, differentiable)."""
        f = torch.sigmoid((v - self.v_half_mV) / self.slope_mV)
        a = math.exp(-self.sample_ms / (self.ca_tau_s * 1000.0))
        S, n = f.shape
        B = _BLOCK
        j = torch.arange(B, dtype=DTYPE)
        diff = j[:, None] - j[None, :]
        lower = torch.where(diff >= 0, (1.0 - a) * a ** diff.clamp(min=0), torch.zeros((), dtype=DTYPE))
        carry_w = (a ** (j + 1.0))[:, None]
        pad = (-S) % B
        fb = torch.cat([f, f[-1:].expand(pad, n)]) if pad else f
        c, out = f[0], []
        for blk in fb.reshape(-1, B, n):
            y = lower @ blk + carry_w * c
            out.append(y)
            c = y[-1]
        return torch.cat(out)[:S]

    def correlation(self, v, frame_s):
        """Correlation matrix [n, n] of the indicator frames of voltage samples ``v`` [S, n]."""
        ca = self.calcium(v)
        x = ca[torch.as_tensor(self.frame_index(frame_s, ca.shape[0]))]
        x = x - x.mean(0)
        sd = torch.sqrt((x * x).mean(0) + 1e-24)
        z = x / sd
        return (z.T @ z) / z.shape[0]


def engine_voltages(db, ids, protocol, config=None):
    """Voltage samples [S, len(ids)] of the Numba engine (model "graded") driven by ``protocol``.

    ``config`` adds Simulation settings (e.g. the weight scales). The engine steps at the database's dt;
    voltages are recorded every ``sample_ms``; each drive row is held for ``hold_steps * sample_ms``.
    """
    from braingo_core.sim import Simulation

    sim = Simulation(db, {"model": "graded", **(config or {})})
    every = max(1, int(round(protocol.sample_ms / sim.dt_ms)))
    rec = sim.record(list(int(i) for i in ids), every=every)
    ticks = protocol.hold_steps * every
    drive = protocol.drive(sim.n_neurons)
    all_ids = np.arange(sim.n_neurons)
    for row in drive:
        sim.set_inputs(all_ids, row)
        sim.run(ticks)
    return rec.voltages()[1]


def engine_correlation(db, target, protocol, config=None):
    """Correlation matrix (numpy) of ``target``'s neurons simulated by the engine under ``protocol``."""
    v = engine_voltages(db, target.ids, protocol, config)
    with torch.no_grad():
        return protocol.correlation(torch.as_tensor(v, dtype=DTYPE), target.frame_s).numpy()


def pair_r(sim, rec, pairs):
    """Pearson r between simulated and recorded correlations over ``pairs`` (i, j); NaN if fewer than 3."""
    i, j = pairs
    if len(i) < 3:
        return float("nan")
    a, b = np.asarray(sim)[i, j], np.asarray(rec)[i, j]
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
