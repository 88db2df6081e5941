"""kernels_math.fexp against math.exp over the whole double range, special values included."""
import math

import numpy as np
from numba import njit

from braingo_core.sim.kernels_math import fexp


@njit(cache=True)
def _fexp_all(x, out):
    for i in range(x.size):
        out[i] = fexp(x[i])


def _ulps(got, ref):
    return np.abs(got - ref) / np.spacing(np.abs(ref))


def test_fexp_within_one_ulp_of_math_exp():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-0.6, 0.0, 50_000),          # the LIF range -dt*g/cm
                        rng.uniform(-745.0, 709.7, 50_000), rng.uniform(-1e-8, 1e-8, 1000),
                        [0.0, -0.0, 1.0, -1.0, 0.5 * math.log(2.0), -0.5 * math.log(2.0), 709.78, -708.39,
                         -708.4, -720.0, -744.4, 5e-324]])
    got = np.empty_like(x)
    _fexp_all(x, got)
    ref = np.array([math.exp(v) for v in x])
    normal = ref >= np.finfo(float).tiny
    assert _ulps(got[normal], ref[normal]).max() <= 1.0
    # subnormal results: rounded once, so within one subnormal step
    assert np.abs(got[~normal] - ref[~normal]).max() <= 5e-324


def test_fexp_special_values():
    x = np.array([np.inf, -np.inf, np.nan, 709.79, 1e300, -745.2, -1e300, -746.0])
    got = np.empty_like(x)
    _fexp_all(x, got)
    assert got[0] == np.inf and got[1] == 0.0 and np.isnan(got[2])
    assert got[3] == np.inf and got[4] == np.inf
    assert np.all(got[5:] == 0.0)
