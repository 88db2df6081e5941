"""Recorder: soma voltages of chosen neurons every k ticks and spikes as (neuron, tick); .npz and PNG output.

Buffers are allocated (grown) before each run call for the whole run, never inside the loop. A voltage
row is the state at the *start* of its tick, i.e. at t = tick * dt (Brian2's StateMonitor convention).
"""
import numpy as np

from braingo_core.errors import SimulationError
from braingo_core.storage.atomic import atomic_open


class Recorder:
    """Preallocated voltage and spike recording.

    Parameters
    ----------
    ids : int[k]
        Neurons whose soma voltage is recorded (may be empty).
    dt_ms : float
        Time step, for the time axis.
    every : int
        Record a row every ``every`` ticks (>= 1).
    names : list of str, optional
        Labels of ``ids`` for plots and the .npz file.
    """

    def __init__(self, ids, dt_ms, every=1, names=None):
        every = int(every)
        if every < 1:
            raise SimulationError(f"Recorder: every must be >= 1, got {every}")
        self.ids = np.asarray(ids, np.int64).reshape(-1)
        self.every, self.dt_ms = every, float(dt_ms)
        self.names = list(names) if names is not None else [str(i) for i in self.ids]
        self.v_buf = np.zeros((0, self.ids.size))
        self.row = np.zeros(1, np.int64)
        self._ticks = np.zeros(0, np.int64)
        self._spk_i, self._spk_t = [], []

    def prepare(self, tick0, n_ticks):
        """Grow the voltage buffer so ticks [tick0, tick0 + n_ticks) fit (called before the loop runs)."""
        if self.ids.size == 0:
            return
        first = -(-tick0 // self.every) * self.every
        new = np.arange(first, tick0 + n_ticks, self.every, dtype=np.int64)
        r = int(self.row[0])
        self._ticks = np.concatenate([self._ticks[:r], new])
        if self._ticks.size > self.v_buf.shape[0]:
            buf = np.zeros((max(self._ticks.size, 2 * self.v_buf.shape[0]), self.ids.size))
            buf[:r] = self.v_buf[:r]
            self.v_buf = buf

    def add_spikes(self, ids, ticks):
        """Append spikes (copied) given as neuron ids and ticks."""
        self._spk_i.append(np.array(ids, np.int64))
        self._spk_t.append(np.array(ticks, np.int64))

    def spikes(self):
        """(ids int64[m], ticks int64[m]) of all recorded spikes in time order."""
        if not self._spk_i:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(self._spk_i), np.concatenate(self._spk_t)

    def voltages(self):
        """(t_ms float64[rows], v_mV float64[rows, k]) recorded so far (copies)."""
        r = int(self.row[0])
        return self._ticks[:r] * self.dt_ms, self.v_buf[:r].copy()

    def save_npz(self, path):
        """Write ``t_ms``, ``v_mV``, ``ids``, ``names``, ``spike_ids``, ``spike_t_ms`` to ``path``."""
        t, v = self.voltages()
        si, st = self.spikes()
        with atomic_open(path) as f:
            np.savez(f, t_ms=t, v_mV=v, ids=self.ids, names=np.asarray(self.names), spike_ids=si,
                     spike_t_ms=st * self.dt_ms)

    def plot(self, path, title=None):
        """PNG with the voltage traces (top) and the spike raster (bottom)."""
        from matplotlib.figure import Figure     # no pyplot: no global backend is chosen or changed

        t, v = self.voltages()
        si, st = self.spikes()
        fig = Figure(figsize=(9, 6))
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
        for j, name in enumerate(self.names):
            ax1.plot(t, v[:, j], lw=0.8, label=name)
        if self.names and len(self.names) <= 12:
            ax1.legend(fontsize=7, loc="upper right")
        ax1.set_ylabel("V (mV)")
        ax2.plot(st * self.dt_ms, si, ",k" if si.size > 5000 else ".k", ms=2)
        ax2.set_ylabel("neuron")
        ax2.set_xlabel("t (ms)")
        if title:
            ax1.set_title(title)
        fig.tight_layout()
        with atomic_open(path) as f:
            fig.savefig(f, format="png", dpi=100)
