"""One tick of a chunk of LIF neurons, written branch-free so that LLVM compiles the loops to SIMD code.

Used by :mod:`kernels_lif` (tick-outer, neuron-inner within a chunk of neurons of one class). The
arithmetic is the general loop's (``update_neurons`` for LIF, in the same order), with every ``if``
turned into a select, so the state is bitwise the general loop's:

* ``poisson_pass``: the per-neuron xorshift64* stream and the binomial count. The general loop inverts
  the CDF table by comparing ``uu = m * 2**-53`` with ``p_cdf[k]``; here ``m > floor(p_cdf[k] * 2**53)``
  (the same test, exact for integer m) for k < 4, summed; counts of 4 or more (rare: the table's tail)
  are finished by ``poisson_tail``.
* ``update_pass``: ring slot and Poisson count into the lumped synapses, exponential-Euler membrane
  update (:func:`kernels_math.fexp`), threshold, reset, refractoriness, synaptic decay. Writes
  ``fired[j]`` per neuron; returns the number of spikes and whether some neuron diverged.

What lets LLVM vectorise these loops: unsigned loop indices (numba then emits no negative-index
wrap-around), one 1-d array per receptor row (rows of one 2-d array would look overlapping), no calls
(``fexp`` is inlined), and divisions compiled with numba's "numpy" error model (the caller's), so that
a division by zero yields inf for a select to discard instead of raising.
"""
import numpy as np
from numba import njit

from braingo_core.sim.kernels_math import fexp
from braingo_core.sim.kernels_neuron import INV53, MULT, U11, U12, U25, U27

TWO53 = 9007199254740992.0
NEVER = np.int64(1) << 62                      # a threshold no 53-bit draw exceeds
#: Length of ``update_pass``'s constant block ``cst`` (8 class constants, 8 per slot x 2, the Poisson weight).
CST_SIZE = 25


@njit(cache=True)
def poisson_thresholds(p_cdf, thr):
    """thr[k] = floor(p_cdf[k] * 2**53) for the table's first 4 entries (NEVER past its end)."""
    n_cdf = p_cdf.shape[0] - 1
    for k in range(4):
        thr[k] = np.int64(np.floor(p_cdf[k] * TWO53)) if k < n_cdf else NEVER


@njit(cache=True)
def poisson_pass(c0, c1, rng, p_mask, lesion, thr, kbuf):
    """Advance the streams of neurons c0..c1-1 (Poisson-driven, not lesioned); count into kbuf[i - c0].

    Returns True if some count reached 4 (then ``poisson_tail`` must finish those).
    """
    t0, t1, t2, t3 = thr[0], thr[1], thr[2], thr[3]
    tail = 0
    u0 = np.uintp(c0)
    for i in range(u0, np.uintp(c1)):          # unsigned indices: no wrap-around test, so LLVM vectorises
        r0 = rng[i]
        r = r0 ^ (r0 >> U12)
        r ^= r << U25
        r ^= r >> U27
        m = np.int64((r * MULT) >> U11)
        on = (p_mask[i] != 0) & (lesion[i] == 0)
        rng[i] = r if on else r0
        k = (1.0 if m > t0 else 0.0) + (1.0 if m > t1 else 0.0) + (1.0 if m > t2 else 0.0) + \
            (1.0 if m > t3 else 0.0)
        kbuf[i - u0] = k if on else 0.0
        tail |= on & (m > t3)
    return tail != 0


@njit(cache=True)
def poisson_tail(c0, c1, rng, p_cdf, kbuf):
    """Finish the counts of 4 or more by the general loop's inversion (from the already advanced streams)."""
    n_cdf = p_cdf.shape[0] - 1
    for i in range(c0, c1):
        if kbuf[i - c0] >= 4.0:
            uu = float(np.int64((rng[i] * MULT) >> U11)) * INV53
            k = 4
            while k < n_cdf and uu > p_cdf[k]:
                k += 1
            kbuf[i - c0] = float(k)


@njit(inline="always")
def _arrive(a, b, val, nrm, rise, add, take):
    """One slot's lumped synapse (decay part a, rise part b) plus its ring value and, if ``take``, ``add``."""
    nz = val != 0.0
    a = a + val * nrm if nz else a
    b = b + val * nrm if nz & rise else b
    a = a + add if take else a
    b = b + add if take & rise else b
    return a, b


@njit(inline="always")
def update_pass(c0, c1, n, two, full, rise, les_any, v, ref_until, a0s, b0s, a1s, b1s, ring0, ring1, i_ext, has_iext,
                lesion, kbuf, fired, cst, slot_cond, dt):
    """Advance neurons c0..c1-1 (one class) through tick n; see the module docstring.

    Inlined where it is called, so that constant flags give specialised loops. ``two``: a second receptor
    slot (``a1s``, ``b1s``, ``ring1``; placeholders otherwise); ``full``: some slot is a conductance or the
    class has no positive leak (else the current-based leak update only); ``rise``: some slot has a rise
    part (else ``gb`` is left alone: it stays 0); ``les_any``: some neuron of the chunk is lesioned.
    ``cst``: gl, cm, inv_gl, decay_m, v_reset, v_th, t_ref, gl*e_leak, then per slot (2) nrm, rise, dd,
    dr, pa, pb, e_rev, Poisson flag (1 on the slot the drive uses), then the Poisson weight.
    """
    gl, cm, inv_gl, dm, v_reset, v_th, t_ref, gl_el = cst[0], cst[1], cst[2], cst[3], cst[4], cst[5], cst[6], cst[7]
    nrm0, rise0, dd0, dr0, pa0, pb0, e0, ps0 = cst[8], cst[9], cst[10], cst[11], cst[12], cst[13], cst[14], cst[15]
    nrm1, rise1, dd1, dr1, pa1, pb1, e1, ps1 = cst[16], cst[17], cst[18], cst[19], cst[20], cst[21], cst[22], cst[23]
    p_w = cst[24]
    r0, r1 = rise and rise0 != 0.0, rise and rise1 != 0.0
    p0, p1 = ps0 != 0.0, ps1 != 0.0
    cond0 = slot_cond[0] != 0
    cond1 = two and slot_cond[1] != 0
    leak = gl > 0.0
    dt_cm = dt / cm
    ru_fire = n + np.int64(t_ref)
    n_fired = 0
    bad = 0
    u0 = np.uintp(c0)
    for i in range(u0, np.uintp(c1)):          # unsigned indices: no wrap-around test, so LLVM vectorises
        vx = v[i]
        ru = ref_until[i]
        les = lesion[i] != 0 if les_any else False
        kf = kbuf[i - u0]
        pk = kf > 0.0
        a0o = a0s[i]
        b0o = b0s[i] if rise else 0.0
        a0, b0 = _arrive(a0o, b0o, ring0[i], nrm0, r0, kf * p_w * nrm0, pk & p0)
        ring0[i] = 0.0
        drive = gl_el + 0.0
        if has_iext:
            drive += i_ext[i]
        gtot = gl
        vcur = 0.0
        g0 = a0 - b0
        gtot = gtot + g0 if cond0 else gtot
        drive = drive + g0 * e0 if cond0 else drive
        vcur = vcur if cond0 else vcur + (a0 * pa0 - b0 * pb0)
        a1o = 0.0
        b1o = 0.0
        a1 = 0.0
        b1 = 0.0
        if two:
            a1o = a1s[i]
            b1o = b1s[i] if rise else 0.0
            a1, b1 = _arrive(a1o, b1o, ring1[i], nrm1, r1, kf * p_w * nrm1, pk & p1)
            ring1[i] = 0.0
            g1 = a1 - b1
            gtot = gtot + g1 if cond1 else gtot
            drive = drive + g1 * e1 if cond1 else drive
            vcur = vcur if cond1 else vcur + (a1 * pa1 - b1 * pb1)
        vinf = drive * inv_gl
        vn = vinf + (vx - vinf) * dm + vcur
        if full:
            vinf_c = drive / gtot
            vn_c = vinf_c + (vx - vinf_c) * fexp(-gtot * dt_cm) + vcur
            vn_z = vx + (drive * dt_cm + vcur)
            vn = vn if (gtot == gl) & leak else (vn_c if gtot != 0.0 else vn_z)
        act = (n >= ru) & (not les)
        fire = act & (vn > v_th) & (vn - vn == 0.0)
        vn = v_reset if fire else vn
        v[i] = vn if act else vx
        ref_until[i] = ru_fire if fire else ru
        fired[i - u0] = fire
        n_fired += fire
        a0s[i] = a0o if les else a0 * dd0
        if rise:
            b0s[i] = b0o if les else (b0 * dr0 if r0 else b0)
        if two:
            a1s[i] = a1o if les else a1 * dd1
            if rise:
                b1s[i] = b1o if les else (b1 * dr1 if r1 else b1)
        bad |= act & (vn - vn != 0.0)
    return n_fired, bad != 0
