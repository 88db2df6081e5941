"""C. elegans 16-channel soma + passive neurite biophysics (BAAIWorm-compatible, spec celegans-biophysics).

``channels`` (rate functions and gate kernels), ``tables`` (voltage lookup tables for speed), ``params``
(cell JSON validation), ``network`` (:class:`CelegansNetwork`: cells, graded synapses, gap junctions,
NEURON's fixed-step scheme) and ``clamp`` (the reference current-clamp protocol).
``CelegansNetwork`` is importable from here; it is loaded on first access so that importing
``params`` (as the loaders do) does not load Numba.
"""
__all__ = ["CelegansNetwork"]


def __getattr__(name):
    if name == "CelegansNetwork":
        from braingo_core.sim.celegans.network import CelegansNetwork
        return CelegansNetwork
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
