"""Fit the worm brain to recorded activity with a differentiable twin of the graded engine (PyTorch).

Optional extra ``pip install -e ".[fit]"``. Entry points: :func:`fit` (``fit(db, target, ...) ->
FitResult``), :func:`load_target`, and ``braingo fit`` on the command line. The Numba engine stays the
runtime; the twin (:mod:`braingo_core.fit.twin`) is only for fitting.
"""
from braingo_core.fit.targets import Target, load_target
from braingo_core.fit.train import FitResult, fit

__all__ = ["FitResult", "Target", "fit", "load_target"]
