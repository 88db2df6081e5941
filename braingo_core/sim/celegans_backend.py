"""Adapter that lets :class:`Simulation` drive the 16-channel :class:`CelegansNetwork` (model "celegans")."""
import numpy as np


class CelegansBackend:
    """The engine interface of :class:`~braingo_core.sim.engine.PointEngine` over a CelegansNetwork.

    The C. elegans network has no spikes. ``lesion`` is the network's live per-compartment mask (saved in
    snapshots by :class:`Simulation`).
    """

    parallel = False

    def __init__(self, db, cfg):
        from braingo_core.sim.celegans.network import CelegansNetwork

        self.db = db
        self.net = CelegansNetwork.from_braindb(db, synapse_scale=cfg["synapse_weight_scale"],
                                                gap_scale=cfg["gap_weight_scale"])
        self.lesion = self.net.lesion
        self.i_ext = np.zeros(db.neuron_count())
        self.tick = np.zeros(1, np.int64)

    def reset(self):
        self.net.reset()
        self.tick[0] = 0

    def soma_voltages(self):
        return self.net.soma_voltages_mV()

    def set_lesion(self, ids, on):
        self.net.set_lesion(ids, on)

    def state_arrays(self):
        return self.net.state_arrays()

    def load_state(self, arrays):
        self.net.load_state(arrays)
        self.tick[0] = self.net.tick

    def advance(self, n_ticks, recorder=None, on_spikes=None):
        left = int(n_ticks)
        if left == 0:
            return
        if recorder is None or recorder.ids.size == 0:
            self.net.step(left, self.i_ext)
        else:
            recorder.prepare(int(self.tick[0]), left)
            every = recorder.every
            while left > 0:
                t = self.net.tick
                if t % every == 0:
                    recorder.v_buf[recorder.row[0]] = self.net.soma_voltages_mV()[recorder.ids]
                    recorder.row[0] += 1
                k = min(every - t % every, left)
                self.net.step(k, self.i_ext)
                left -= k
        self.tick[0] = self.net.tick
