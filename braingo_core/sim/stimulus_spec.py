"""Parsing of neuron-name lists and ``"NAME:pA"`` stimulus specifications against a neuron name table.

These are the pure parsers behind the ROS parameters ``tonic_stimulus``, ``lesion``,
``motor_neurons`` and ``stimulus_neurons``: they turn strings into int64 neuron ids and float64
currents, and raise :class:`~braingo_core.errors.SimulationError` (a ``ValueError``) whose text
names the offending entry, so a parameter callback can return it as its reason.
"""
import math

import numpy as np

from braingo_core.errors import SimulationError


def name_index(names):
    """Map neuron name -> id for a sequence of names in id order.

    Parameters
    ----------
    names : sequence of str
        Neuron names, index = neuron id (e.g. ``BrainDB.get_all_neuron_names()``).

    Returns
    -------
    dict of str to int
    """
    return {str(name): i for i, name in enumerate(names)}


def _lookup(name, index, field):
    key = name.strip()
    if key not in index:
        raise SimulationError(f"{field}: unknown neuron '{key}'")
    return index[key]


def parse_neuron_list(entries, names, field="neurons", allow_duplicates=False):
    """Resolve neuron names to ids.

    Parameters
    ----------
    entries : sequence of str
        Neuron names; an empty sequence gives an empty result.
    names : sequence of str or dict of str to int
        Neuron names in id order, or a ready name -> id map from :func:`name_index`.
    field : str
        Parameter name quoted in error messages.
    allow_duplicates : bool
        If False (default), a name listed twice is an error.

    Returns
    -------
    ids : int64[len(entries)]

    Raises
    ------
    SimulationError
        An entry is not a known neuron name, or appears twice.
    """
    index = names if isinstance(names, dict) else name_index(names)
    ids = np.array([_lookup(str(e), index, field) for e in entries], dtype=np.int64)
    if not allow_duplicates and np.unique(ids).size != ids.size:
        seen = set()
        for entry, i in zip(entries, ids):
            if i in seen:
                raise SimulationError(f"{field}: neuron '{entry.strip()}' listed twice")
            seen.add(i)
    return ids


def parse_tonic_stimulus(entries, names, field="tonic_stimulus"):
    """Parse ``["AVBL:30", "AVBR:-2.5"]`` into neuron ids and constant currents.

    Parameters
    ----------
    entries : sequence of str
        ``"NAME:pA"`` items; the current is a finite float in pA. A neuron listed twice
        receives the sum of its currents.
    names : sequence of str or dict of str to int
        Neuron names in id order, or a name -> id map.
    field : str
        Parameter name quoted in error messages.

    Returns
    -------
    ids : int64[k]
        Distinct neuron ids, in order of first appearance.
    current_pA : float64[k]
        Current per id (pA).

    Raises
    ------
    SimulationError
        Missing ``:``, unknown neuron, or a current that is not a finite number.
    """
    index = names if isinstance(names, dict) else name_index(names)
    totals = {}
    for entry in entries:
        name, sep, value = str(entry).rpartition(":")
        if not sep or not name.strip():
            raise SimulationError(f"{field}: '{entry}' is not of the form NAME:pA")
        i = _lookup(name, index, field)
        try:
            current = float(value)
        except ValueError:
            raise SimulationError(f"{field}: '{entry}' has a current that is not a number") from None
        if not math.isfinite(current):
            raise SimulationError(f"{field}: '{entry}' has a non-finite current")
        totals[i] = totals.get(i, 0.0) + current
    ids = np.fromiter(totals.keys(), dtype=np.int64, count=len(totals))
    current_pA = np.fromiter(totals.values(), dtype=np.float64, count=len(totals))
    return ids, current_pA
