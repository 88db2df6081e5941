"""Numba kernels of :class:`~braingo_core.sim.celegans.network.CelegansNetwork` and their named tables.

:data:`Tables` (static, internal compartment order: ``cdt`` C/dt nS, ``gpas`` nS, ``epas`` mV, ``parent``,
axial ``g_ax``/``d_ax`` nS; active compartments ``act_comp`` with area factor ``act_a10``, densities
``gbar`` [n_act, 16], channel bits ``need``, decays ``dec``; the gate table ``tab``/``v0_tab``/``inv_h`` and
``use_tab``; ``soma``/``soma_act`` per neuron; graded-synapse groups ``grp_*`` and synapses ``syn_*``; gap
junctions ``gj_*``; ``v_hold`` mV of lesioned compartments), :data:`State` (``v`` mV, ``gates``, ``cai``,
``syn_s``) and :data:`Scratch` (``i_mem`` pA, ``g_mem`` nS, ``rhs``, ``ica``).
"""
import math
from collections import namedtuple

import numpy as np
from numba import njit

from braingo_core.sim.celegans import channels as ch
from braingo_core.sim.celegans.tables import advance_gates_table

#: |V| above this (mV) counts as a diverging run.
V_LIMIT_mV = 1e4

Tables = namedtuple("Tables", ("dt_ms", "cdt", "gpas", "epas", "parent", "g_ax", "d_ax", "act_comp", "act_a10",
                               "gbar", "need", "dec", "tab", "v0_tab", "inv_h", "use_tab", "soma", "soma_act",
                               "grp_pre", "grp_vth", "grp_delta", "grp_k", "syn_grp", "syn_post", "syn_wg", "syn_e",
                               "gj_a", "gj_b", "gj_g", "v_hold"))
State = namedtuple("State", ("v", "gates", "cai", "syn_s"))
Scratch = namedtuple("Scratch", ("i_mem", "g_mem", "rhs", "ica"))


@njit(cache=True, error_model="numpy")
def run(n_ticks, tick0, tb, st, scr, i_inj, lesion, rec_every, rec_v, rec_cai, err):
    """Advance ``n_ticks`` ticks from tick ``tick0`` (steps 1-3 of the network module's docstring).

    ``tb`` a :data:`Tables`, ``st`` a :data:`State`, ``scr`` a :data:`Scratch`; ``i_inj`` pA per neuron,
    ``lesion`` uint8[n_comp]. Every ``rec_every`` ticks (0: never) the soma V and Ca go to the next row of
    ``rec_v``/``rec_cai``. Returns the ticks done; a voltage beyond ``V_LIMIT_mV`` stops the run with
    ``err`` = (1, compartment, tick).
    """
    dt, cdt, gpas, epas, parent, g_ax, d_ax = tb.dt_ms, tb.cdt, tb.gpas, tb.epas, tb.parent, tb.g_ax, tb.d_ax
    act_comp, act_a10, gbar, need, dec = tb.act_comp, tb.act_a10, tb.gbar, tb.need, tb.dec
    tab, v0_tab, inv_h, use_tab, soma, soma_act = tb.tab, tb.v0_tab, tb.inv_h, tb.use_tab, tb.soma, tb.soma_act
    grp_pre, grp_vth, grp_delta, grp_k = tb.grp_pre, tb.grp_vth, tb.grp_delta, tb.grp_k
    syn_grp, syn_post, syn_wg, syn_e = tb.syn_grp, tb.syn_post, tb.syn_wg, tb.syn_e
    gj_a, gj_b, gj_g, v_hold = tb.gj_a, tb.gj_b, tb.gj_g, tb.v_hold
    v, gates, cai, syn_s = st.v, st.gates, st.cai, st.syn_s
    i_mem, g_mem, rhs, ica = scr.i_mem, scr.g_mem, scr.rhs, scr.ica
    n_comp = v.shape[0]
    n_rec = 0
    for t in range(n_ticks):
        for c in range(n_comp):
            i_mem[c] = gpas[c] * (v[c] - epas[c])
            g_mem[c] = gpas[c]
        for a in range(act_comp.shape[0]):
            c = act_comp[a]
            i_d, g_d, ica_d = ch.membrane_currents(v[c], gates[a], gbar[a])
            i_mem[c] += act_a10[a] * i_d
            g_mem[c] += act_a10[a] * g_d
            ica[a] = ica_d
        for k in range(syn_post.shape[0]):
            p = syn_post[k]
            if lesion[p] or lesion[grp_pre[syn_grp[k]]]:
                continue
            g = syn_wg[k] * syn_s[syn_grp[k]]
            i_mem[p] += g * (v[p] - syn_e[k])
            g_mem[p] += g
        for k in range(gj_a.shape[0]):
            a = gj_a[k]
            b = gj_b[k]
            if lesion[a] or lesion[b]:
                continue
            g = gj_g[k]
            dv = v[a] - v[b]
            i_mem[a] += g * dv
            i_mem[b] -= g * dv
            g_mem[a] += g
            g_mem[b] += g
        for n in range(soma.shape[0]):
            if not lesion[soma[n]]:
                i_mem[soma[n]] -= i_inj[n]
        # Hines elimination for dV = V^{n+1} - V^n; g_mem is reused as the matrix diagonal.
        for c in range(n_comp):
            rhs[c] = -i_mem[c]
            g_mem[c] += cdt[c] + d_ax[c]
        for c in range(n_comp):
            p = parent[c]
            if p >= 0:
                flux = g_ax[c] * (v[p] - v[c])
                rhs[c] += flux
                rhs[p] -= flux
        for c in range(n_comp - 1, -1, -1):
            p = parent[c]
            if p >= 0:
                f = g_ax[c] / g_mem[c]
                g_mem[p] -= f * g_ax[c]
                rhs[p] += f * rhs[c]
        for c in range(n_comp):
            p = parent[c]
            if p >= 0:
                rhs[c] = (rhs[c] + g_ax[c] * rhs[p]) / g_mem[c]
            else:
                rhs[c] = rhs[c] / g_mem[c]
            v[c] += rhs[c]
            if lesion[c]:
                v[c] = v_hold[c]
            if not abs(v[c]) < V_LIMIT_mV:
                err[0] = 1
                err[1] = c
                err[2] = tick0 + t
                return t
        for a in range(act_comp.shape[0]):
            vn = v[act_comp[a]]
            cai[a] = ch.ca_pool_step(cai[a], ica[a], vn, dt)
            if use_tab:
                advance_gates_table(vn, dt, gates[a], need[a], cai[a], dec, tab, v0_tab, inv_h)
            else:
                ch.advance_gates(vn, dt, gates[a], need[a], cai[a], dec)
        for k in range(grp_pre.shape[0]):
            x = math.exp((grp_vth[k] - v[grp_pre[k]]) / grp_delta[k])
            s_inf = 1.0 / (1.0 + x)
            # 1 - s_inf written as x/(1+x) keeps tau_s > 0 where s_inf rounds to 1.
            syn_s[k] = s_inf + (syn_s[k] - s_inf) * math.exp(-dt * grp_k[k] * (1.0 + x) / x)
        if rec_every > 0 and (t + 1) % rec_every == 0:
            for n in range(soma.shape[0]):
                rec_v[n_rec, n] = v[soma[n]]
                rec_cai[n_rec, n] = cai[soma_act[n]] if soma_act[n] >= 0 else np.nan
            n_rec += 1
    return n_ticks


@njit(cache=True, error_model="numpy")
def init(v, gates, cai, syn_s, act_comp, syn_pre, syn_vth, syn_delta):
    """NEURON's finitialize: Ca pools at rest, gates at steady state, graded synapse states at s_inf(V_pre)."""
    for a in range(act_comp.shape[0]):
        cai[a] = ch.CAI0
        ch.init_gates(v[act_comp[a]], cai[a], gates[a])
    for k in range(syn_pre.shape[0]):
        syn_s[k] = 1.0 / (1.0 + math.exp((syn_vth[k] - v[syn_pre[k]]) / syn_delta[k]))
