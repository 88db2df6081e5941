"""The few free parameters of a fit and how they set every weight (signs fixed, gap junctions symmetric).

With cell classes c(.) (:func:`~braingo_core.fit.tables.cell_classes`) and the database's anatomical
weights w0 (nS) and g0 (nS), a parameter vector theta gives

* chemical synapse pre -> post: ``w = w0 * s_syn * exp(a[c(pre)] + b[c(post)] + p[c(pre), c(post)])``,
  always >= 0; its sign is the receptor's (the transmitter identity: GABA -> ``inh``), never learned;
* gap junction x -- y: ``g = g0 * s_gap * exp(h[c(x)] + h[c(y)] + q[{c(x), c(y)}])``, one value per junction
  applied both ways, so symmetric and >= 0;
* leak potential: ``E_L = E_L0 + e[c(i)]`` (mV), a per-class tonic offset (a constant, not a time series).

``s_syn``/``s_gap`` are the starting scales (the database's default weight scales). The pair terms p and
q exist only for the class pairs with the largest anatomical weight, as many as fit in ``max_params``
after the per-class terms a, b, h, e (4 per class); the other pairs use the per-class terms alone.
theta = 0 is the unfitted network at the starting scales.
"""
from dataclasses import dataclass

import numpy as np
import torch

from braingo_core.fit.twin import DTYPE

MAX_PARAMS = 1500
#: Share of the pair-term budget given to chemical-synapse pairs (the rest to gap-junction pairs).
SYN_PAIR_SHARE = 0.75


def _top_pairs(keys, weight, k):
    """Index (0..k-1, or k for 'none') of each entry's key among the k keys of largest summed weight."""
    uniq, inv = np.unique(keys, return_inverse=True)
    total = np.bincount(inv, weights=weight, minlength=uniq.size)
    keep = np.argsort(-total, kind="stable")[:k]
    rank = np.full(uniq.size, k, np.int64)
    rank[keep] = np.arange(keep.size)
    return rank[inv], int(keep.size)


@dataclass
class ParamLayout:
    """Where each block of theta sits and which entries it scales (see the module docstring)."""

    n_classes: int
    class_names: list
    neuron_class: np.ndarray
    syn_pair: np.ndarray
    n_syn_pairs: int
    gap_pair: np.ndarray
    n_gap_pairs: int
    syn_scale: float
    gap_scale: float

    @classmethod
    def build(cls, tables, syn_scale=1.0, gap_scale=1.0, max_params=MAX_PARAMS):
        names, c = np.unique(np.asarray(tables.classes), return_inverse=True)
        C = names.size
        budget = max(0, int(max_params) - 4 * C)
        cp, cq = c[tables.syn_pre], c[tables.syn_post]
        syn_pair, ks = _top_pairs(cp * C + cq, tables.syn_w_nS, int(budget * SYN_PAIR_SHARE))
        ca, cb = np.minimum(c[tables.gap_a], c[tables.gap_b]), np.maximum(c[tables.gap_a], c[tables.gap_b])
        gap_pair, kg = _top_pairs(ca * C + cb, tables.gap_w_nS, budget - ks)
        return cls(int(C), list(names), c.astype(np.int64), syn_pair, ks, gap_pair, kg, float(syn_scale),
                   float(gap_scale))

    @property
    def n_params(self):
        return 4 * self.n_classes + self.n_syn_pairs + self.n_gap_pairs

    def blocks(self, theta):
        """(a, b, h, e, p, q) views of ``theta``; p and q end with a fixed 0 for pairs without a term."""
        C, ks = self.n_classes, self.n_syn_pairs
        a, b, h, e = (theta[k * C:(k + 1) * C] for k in range(4))
        zero = torch.zeros(1, dtype=theta.dtype)
        p = torch.cat([theta[4 * C:4 * C + ks], zero])
        q = torch.cat([theta[4 * C + ks:], zero])
        return a, b, h, e, p, q

    def weights(self, theta, tables):
        """(syn_w nS [m], gap_w nS [k], e_leak mV [n]) tensors for ``theta``."""
        a, b, h, e, p, q = self.blocks(theta)
        c = torch.as_tensor(self.neuron_class)
        pre, post = torch.as_tensor(tables.syn_pre), torch.as_tensor(tables.syn_post)
        ga, gb = torch.as_tensor(tables.gap_a), torch.as_tensor(tables.gap_b)
        w0 = torch.as_tensor(tables.syn_w_nS, dtype=DTYPE) * self.syn_scale
        g0 = torch.as_tensor(tables.gap_w_nS, dtype=DTYPE) * self.gap_scale
        syn = w0 * torch.exp(a[c[pre]] + b[c[post]] + p[torch.as_tensor(self.syn_pair)])
        gap = g0 * torch.exp(h[c[ga]] + h[c[gb]] + q[torch.as_tensor(self.gap_pair)])
        el = torch.as_tensor(tables.e_leak_mV, dtype=DTYPE) + e[c]
        return syn, gap, el

    def zeros(self):
        return torch.zeros(self.n_params, dtype=DTYPE)
