"""A seeded network with FlyWire v783's statistics (``braingo build --like flywire``), as the Shiu model.

The real connectivity cannot be downloaded everywhere; this generator gives a benchmark network of the
same size and shape: 138,639 neurons and 15,091,983 connections by default, heavy-tailed out- and
in-degrees (clipped log-normal propensities, sigma 1.2: mean 109, maxima near 9,600), no self-connections
or duplicate pairs, out-degree at most n / 8 (so that small networks stay sparse), signed synapse counts
(1 + a log-normal, mean ~3; the sign is the presynaptic neuron's, 70 % excitatory, as cholinergic
neurons in FlyWire).

Byte-reproducible: the same (n, edges, seed) writes the same file (numpy PCG64, no clock in metadata).
Memory stays near 70 bytes per connection at the peak (int32 endpoints, chunked sampling).
"""
import numpy as np

from braingo_core.errors import BuilderError
from braingo_core.loaders.flywire import write_fly_db

FLYWIRE_V783 = {"neurons": 138_639, "edges": 15_091_983}
DEGREE_SIGMA = 1.2
#: Propensities are exp(sigma * z) with z a standard normal clipped here: the largest degree is ~88x the mean.
Z_MAX = 4.33
EXCITATORY_FRACTION = 0.7
_CHUNK = 1 << 22


def _propensity(rng, n, sigma):
    """Clipped log-normal weights (see ``Z_MAX``)."""
    return np.exp(sigma * np.clip(rng.standard_normal(n), -Z_MAX, Z_MAX))


def _degrees(rng, n, total, sigma):
    """Out-degrees: log-normal propensities scaled to sum exactly to ``total``, each <= n // 8."""
    cap = n // 8
    w = _propensity(rng, n, sigma)
    raw = w / w.sum() * total
    deg = np.minimum(np.floor(raw).astype(np.int64), cap)
    short = total - int(deg.sum())
    order = np.argsort(-(raw - deg), kind="stable")          # largest remainders first
    i = 0
    while short > 0:
        j = order[i % n]
        if deg[j] < cap:
            deg[j] += 1
            short -= 1
        i += 1
    return deg


def generate(n=FLYWIRE_V783["neurons"], edges=FLYWIRE_V783["edges"], seed=0):
    """(pre int32, post int32, signed count int64) of a FlyWire-like network, sorted by (pre, post)."""
    if n < 16 or edges < 0 or edges > n * (n // 8) // 2:
        raise BuilderError(f"--like flywire: {edges} connections do not fit {n} neurons (need n >= 16 and at "
                           f"most n * (n // 8) / 2 connections)")
    rng = np.random.default_rng(seed)
    out_deg = _degrees(rng, n, edges, DEGREE_SIGMA)
    cum_in = np.cumsum(_propensity(rng, n, DEGREE_SIGMA))
    cum_in /= cum_in[-1]
    pre = np.repeat(np.arange(n, dtype=np.int32), out_deg)
    post = np.empty(edges, np.int32)
    todo = np.arange(edges, dtype=np.int64)
    while todo.size:                  # redraw self-connections and repeated pairs until none is left
        for s in range(0, todo.size, _CHUNK):
            idx = todo[s:s + _CHUNK]
            post[idx] = np.minimum(np.searchsorted(cum_in, rng.random(idx.size), side="right"), n - 1)
        key = pre.astype(np.int64) * n + post
        order = np.argsort(key, kind="stable")
        sk = key[order]
        dup = np.zeros(edges, bool)
        dup[order[1:][sk[1:] == sk[:-1]]] = True
        del key, sk, order
        dup |= pre == post
        todo = np.flatnonzero(dup)
    order = np.lexsort((post, pre))
    pre, post = pre[order], post[order]
    del order
    sign = np.where(rng.random(n) < EXCITATORY_FRACTION, 1, -1)
    counts = 1 + np.floor(rng.lognormal(0.4, 1.0, edges)).astype(np.int64)
    np.minimum(counts, 65535, out=counts)
    counts *= sign[pre]
    return pre, post, counts


def like_size(args):
    """(neurons, edges) of ``braingo build --like flywire``: full size, or ``--neurons`` at 109 per neuron."""
    n = FLYWIRE_V783["neurons"] if args.neurons is None else args.neurons
    if args.edges is not None:
        return n, args.edges
    return n, int(round(n * FLYWIRE_V783["edges"] / FLYWIRE_V783["neurons"]))


def build_like_flywire(output, n=FLYWIRE_V783["neurons"], edges=FLYWIRE_V783["edges"], seed=0):
    """Write the generated network as the Shiu model (see :func:`braingo_core.loaders.flywire.write_fly_db`)."""
    pre, post, counts = generate(n, edges, seed)
    meta = {"provenance": {"generator": "braingo build --like flywire", "neurons": n, "edges": edges,
                           "seed": seed, "degree_sigma": DEGREE_SIGMA,
                           "excitatory_fraction": EXCITATORY_FRACTION}}
    return write_fly_db(output, n, pre, post, counts, meta)
