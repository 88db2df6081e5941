"""Simulation engine: :class:`Simulation` over a .braindb (LIF, Izhikevich, graded, HH, STDP; C. elegans)."""
from braingo_core.sim.recording import Recorder
from braingo_core.sim.simulation import Simulation, parse_stimulus

__all__ = ["Recorder", "Simulation", "parse_stimulus"]
