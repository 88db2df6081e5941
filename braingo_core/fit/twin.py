"""Differentiable twin of the engine's graded model (PyTorch, float64): same tick, same formulas.

One tick of length dt (ms), as the engine's graded path (sim/kernels_graded.py) runs it, from the
start-of-step soma voltages V and gates s:

* synaptic conductance ``g_syn[i] = sum_j w_ij s_j`` and drive ``d_syn[i] = sum_j w_ij s_j E_j`` over the graded
  synapses j -> i (w nS, s the presynaptic gate of the synapse's receptor, E its reversal potential);
  gap junctions add ``g_gap[i] = sum_y g_iy`` and ``d_gap[i] = sum_y g_iy V_y``;
* exponential Euler with every conductance held for the step:
  ``g_tot = g_L + g_gap + g_syn``, ``V_inf = (g_L E_L + d_gap + d_syn + I_ext) / g_tot``,
  ``V <- V_inf + (V - V_inf) exp(-dt g_tot / C)``, clipped to [v_min, v_max];
* gates follow the new voltage (spec 5.1, exponential rule): ``s_inf = 1 / (1 + exp((V_th - V) / delta))``,
  ``tau = (1 - s_inf) / k``, ``s <- s_inf + (s - s_inf) exp(-dt / tau)`` (``s_inf`` when tau <= 0).

Initial state: V = E_L, s = s_inf(E_L) (the engine's reset). Weights, conductances and leak potentials are
tensors, so gradients flow to whatever parameterises them (:mod:`braingo_core.fit.params`).
"""
import numpy as np
import torch

DTYPE = torch.float64


class GradedTwin:
    """The graded network of a :class:`~braingo_core.fit.tables.GradedTables` as a torch function.

    ``run`` takes the chemical weights (nS per synapse), gap conductances (nS per junction) and leak
    potentials (mV per neuron) as tensors, so the same twin serves fixed (database) and learned values.
    """

    def __init__(self, tables):
        t = self.tables = tables
        self.n = n = t.n
        as_t = lambda a: torch.as_tensor(a, dtype=DTYPE)   # noqa: E731
        self.cm, self.gl = as_t(t.cm_pF), as_t(t.g_leak_nS)
        self.v_min, self.v_max = as_t(t.v_min_mV), as_t(t.v_max_mV)
        self.e_leak0 = as_t(t.e_leak_mV)
        # gate pairs q = (graded slot, presynaptic neuron) that some synapse uses, as the engine's s_gate
        key = t.syn_slot * n + t.syn_pre
        pairs = np.unique(key)
        self.n_pairs = pairs.size
        self._q_pre = torch.as_tensor(pairs % n)
        q_slot = pairs // n
        self.vth, self.delta = as_t(t.g_vth_mV[q_slot]), as_t(t.g_delta_mV[q_slot])
        self.k, self.e_rev = as_t(t.g_k_per_ms[q_slot]), as_t(t.g_e_mV[q_slot])
        self._syn_q = torch.as_tensor(np.searchsorted(pairs, key))
        self._syn_row = torch.as_tensor(t.syn_post)
        self._gap_a, self._gap_b = torch.as_tensor(t.gap_a), torch.as_tensor(t.gap_b)

    @property
    def syn_e_rev(self):
        """Reversal potential (mV) of every synapse: its receptor's, fixed (the sign is never learned)."""
        return self.e_rev[self._syn_q]

    def default_weights(self):
        """(syn_w nS [m], gap_w nS [k], e_leak mV [n]) as stored in the database."""
        t = self.tables
        return (torch.as_tensor(t.syn_w_nS, dtype=DTYPE), torch.as_tensor(t.gap_w_nS, dtype=DTYPE),
                self.e_leak0.clone())

    def matrices(self, syn_w, gap_w):
        """Dense (W [n, Q], W*E [n, Q], gap [n, n]) from per-synapse and per-junction values (nS)."""
        n, Q = self.n, self.n_pairs
        w = torch.zeros(n * Q, dtype=DTYPE).index_add(0, self._syn_row * Q + self._syn_q, syn_w).reshape(n, Q)
        gap = torch.zeros(n * n, dtype=DTYPE)
        gap = gap.index_add(0, self._gap_a * n + self._gap_b, gap_w).index_add(0, self._gap_b * n + self._gap_a, gap_w)
        return w, w * self.e_rev, gap.reshape(n, n)

    def gate_inf(self, v):
        """Steady-state gates s_inf [Q] of every gate pair at voltages ``v`` [n]."""
        return torch.sigmoid((v[self._q_pre] - self.vth) / self.delta)

    def run(self, syn_w, gap_w, e_leak, drive_pA, hold, dt_ms, every=1):
        """Simulate from the initial state and return the start-of-step voltages every ``every`` steps.

        Parameters
        ----------
        syn_w, gap_w, e_leak : tensors (nS [m], nS [k], mV [n])
        drive_pA : tensor [K, n]
            External current; row k is applied for the ``hold`` steps from step ``k * hold``.
        hold : int
            Steps per drive row; the run lasts ``K * hold`` steps.
        dt_ms : float
            Step (ms).
        every : int
            Sampling interval in steps (the engine Recorder's ``every``).

        Returns
        -------
        tensor [ceil(K * hold / every), n]: V (mV) at the start of steps 0, every, 2 * every, ...
        """
        w, we, gap = self.matrices(syn_w, gap_w)
        g_gap = gap.sum(1)
        g_base = self.gl + g_gap
        leak = self.gl * e_leak
        v = e_leak.clone()
        s = self.gate_inf(v)
        dt = float(dt_ms)
        dtk = dt * self.k
        wwe = torch.cat([w, we])
        n = self.n
        out = []
        step = 0
        for row in drive_pA:
            base = leak + row
            for _ in range(hold):
                if step % every == 0:
                    out.append(v)
                gd = wwe @ s
                g_tot = g_base + gd[:n]
                v_inf = (base + gap @ v + gd[n:]) / g_tot
                v = v_inf + (v - v_inf) * torch.exp(-dt * g_tot / self.cm)
                v = torch.minimum(torch.maximum(v, self.v_min), self.v_max)
                s_inf = self.gate_inf(v)
                # tau = (1 - s_inf) / k; at tau = 0 (s_inf = 1) the factor is exp(-inf) = 0: s = s_inf, as the engine
                s = s_inf + (s - s_inf) * torch.exp(-dtk / torch.clamp(1.0 - s_inf, min=1e-300))
                step += 1
        return torch.stack(out)
