"""Current-clamp protocol of the reference cells (spec §6, shared reference README).

Each amplitude runs from a fresh ``finitialize`` at v_init = soma ``epas``: ``hold_ms`` without
stimulus, ``step_ms`` of a constant soma current, then ``post_ms`` without; the step is on during every
tick whose midpoint lies in [hold, hold + step). All amplitudes (and several cells) run as independent
cells of one :class:`CelegansNetwork`. Soma V and cai are sampled every ``record_ms``.
"""
import json
import logging

import numpy as np

from braingo_core.errors import SimulationError
from braingo_core.sim.celegans.network import CelegansNetwork

log = logging.getLogger(__name__)

DEFAULT_AMPS_pA = (-15.0, -5.0, 5.0, 15.0, 25.0, 35.0)


def _ticks(t_ms, dt_ms):
    # Number of ticks whose midpoint (k + 0.5) dt lies before t_ms.
    return int(np.ceil(t_ms / dt_ms - 0.5 - 1e-9))


def run_clamp(cells, amps_pA=DEFAULT_AMPS_pA, dt_ms=0.1, hold_ms=500.0, step_ms=1000.0, post_ms=500.0,
              record_ms=0.1):
    """Run the step protocol for every cell and amplitude.

    Parameters
    ----------
    cells : list of CellParams
    amps_pA : sequence of float
        Step amplitudes (positive depolarises).
    dt_ms, hold_ms, step_ms, post_ms, record_ms : float
        ``record_ms`` must be a whole number of ``dt_ms`` steps.

    Returns
    -------
    dict
        ``t`` float64[n_t] (ms, 0 .. total inclusive), ``amplitudes`` float64[n_amp],
        ``V``, ``cai`` float64[n_cells, n_amp, n_t] (mV, µM-labelled pool Ca).

    Raises
    ------
    SimulationError
        Bad timing arguments or a diverging run.
    """
    amps = np.asarray(amps_pA, dtype=np.float64).ravel()
    if amps.size == 0 or not np.all(np.isfinite(amps)):
        raise SimulationError(f"clamp: amplitudes must be finite and non-empty, got {amps_pA!r}")
    every = int(round(record_ms / dt_ms))
    if every < 1 or abs(every * dt_ms - record_ms) > 1e-9 * record_ms:
        raise SimulationError(f"clamp: record interval {record_ms} ms is not a multiple of dt {dt_ms} ms")
    if min(hold_ms, step_ms, post_ms) < 0:
        raise SimulationError("clamp: hold_ms, step_ms and post_ms must be >= 0")
    total = hold_ms + step_ms + post_ms
    t_on, t_off, t_end = _ticks(hold_ms, dt_ms), _ticks(hold_ms + step_ms, dt_ms), int(round(total / dt_ms))
    batch = [c for c in cells for _ in amps]
    net = CelegansNetwork.from_cells(batch, dt_ms)
    v0, cai0 = net.soma_voltages_mV(), net.soma_cai()
    inj = np.tile(amps, len(cells))
    parts = [net.record(t_on, 0.0), net.record(t_off - t_on, inj), net.record(t_end - t_off, 0.0)]
    v = np.concatenate([v0[None]] + [p[0] for p in parts])[::every]
    cai = np.concatenate([cai0[None]] + [p[1] for p in parts])[::every]
    n_t = len(v)
    log.info("clamp: %d cells x %d amplitudes, %d ticks of %g ms", len(cells), amps.size, t_end, dt_ms)
    shape = (len(cells), amps.size, n_t)
    return {"t": np.arange(n_t) * record_ms, "amplitudes": amps,
            "V": v.T.reshape(shape), "cai": cai.T.reshape(shape)}


def save_npz(path, cell, result, dt_ms):
    """Write one cell's traces in the reference-file layout (``t``, ``amplitudes``, ``V``, ``cai``,
    ``dt``, ``v_init``, ``params_json``); ``result`` from :func:`run_clamp` with that cell first."""
    np.savez(path, t=result["t"], amplitudes=result["amplitudes"], V=result["V"][0], cai=result["cai"][0],
             dt=np.float64(dt_ms), v_init=np.float64(cell.soma["epas"]),
             params_json=np.str_(cell.json_text or json.dumps({"soma": cell.soma, "neurite": cell.neurite})))


def plot_traces(path, cell, result):
    """Save a PNG of one cell's soma voltage traces (one line per amplitude)."""
    from matplotlib.figure import Figure         # no pyplot: no global backend is chosen or changed

    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    for amp, trace in zip(result["amplitudes"], result["V"][0]):
        ax.plot(result["t"], trace, lw=0.8, label=f"{amp:g} pA")
    ax.set_xlabel("t (ms)")
    ax.set_ylabel("soma V (mV)")
    ax.set_title(f"{cell.name}: current clamp")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
