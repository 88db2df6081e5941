"""Branch-free double-precision ``exp`` for the LIF membrane update (general loop and LIF fast path).

``math.exp`` is a libm call that LLVM cannot vectorise; :func:`fexp` is pure arithmetic and bit
manipulation with selects, so a loop that calls it compiles to SIMD code. Both loops use it for the LIF
exponential-Euler factor, which keeps their states bitwise equal. Accuracy: within 1 ulp of a correctly
rounded exp over the whole double range (tested against ``math.exp`` in test_sim_kernels_math.py);
exp(-inf) = 0, exp(inf) = inf, exp(nan) = nan, overflow gives inf and deep underflow 0 (subnormals are
produced, rounded once).
"""
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01           # 0x3fe62e42fee00000: k * LN2_HI is exact for |k| < 2**21
LN2_LO = 1.90821492927058770002e-10
ROUND = 6755399441055744.0                    # 1.5 * 2**52: adding it rounds to an integer in the low bits
X_MAX = 709.782712893384                      # exp(x) overflows above (log(DBL_MAX))
X_MIN = -745.1332191019412                    # exp(x) rounds to 0 below (log of half the smallest subnormal)
#: 1/k! for k = 13 down to 2 (Taylor series of exp on |r| <= ln2/2: truncation error < 5e-18 relative).
C13, C12, C11, C10 = 1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0
C9, C8, C7, C6, C5 = 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0
C4, C3, C2 = 1.0 / 24.0, 1.0 / 6.0, 0.5
INF = float("inf")


@intrinsic
def f64_bits(typingctx, x):
    """The IEEE-754 bit pattern of float64 ``x`` as int64."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def bits_f64(typingctx, b):
    """The float64 whose IEEE-754 bit pattern is int64 ``b``."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@njit(cache=True, inline="always")
def fexp(x):
    """exp(x) for float64 ``x`` (see the module docstring); no branches, no calls."""
    xc = X_MIN if x < X_MIN else (X_MAX if x > X_MAX else x)
    t = xc * LOG2E + ROUND
    kf = t - ROUND                                           # round(x / ln2), exactly
    k = f64_bits(t) - f64_bits(ROUND)                        # the same integer, from the bits
    r = (xc - kf * LN2_HI) - kf * LN2_LO                     # |r| <= ln2/2 (+ rounding)
    p = C13
    p = p * r + C12
    p = p * r + C11
    p = p * r + C10
    p = p * r + C9
    p = p * r + C8
    p = p * r + C7
    p = p * r + C6
    p = p * r + C5
    p = p * r + C4
    p = p * r + C3
    p = p * r + C2
    p = 1.0 + r + r * r * p
    k1 = k >> 1                                              # 2**k as 2**k1 * 2**k2: both in the normal range
    k2 = k - k1
    y = p * bits_f64((k1 + 1023) << 52) * bits_f64((k2 + 1023) << 52)
    y = 0.0 if x < X_MIN else (INF if x > X_MAX else y)
    y = x if x != x else y                                   # nan stays nan
    return y
