"""Neuron-name and NAME:pA parsing behind the brain node's parameters."""
import numpy as np
import pytest

from braingo_core.errors import SimulationError
from braingo_core.sim.stimulus_spec import name_index, parse_neuron_list, parse_tonic_stimulus

NAMES = ["AVAL", "AVAR", "AVBL", "AVBR", "DB01"]


def test_neuron_list():
    ids = parse_neuron_list(["DB01", " AVBL"], NAMES)
    assert ids.dtype == np.int64 and ids.tolist() == [4, 2]
    assert parse_neuron_list([], NAMES).tolist() == []
    assert parse_neuron_list(["AVAL"], name_index(NAMES)).tolist() == [0]


@pytest.mark.parametrize("entries, message", [
    (["AVBX"], "lesion: unknown neuron 'AVBX'"),
    (["AVAL", "AVAL"], "lesion: neuron 'AVAL' listed twice"),
])
def test_neuron_list_errors(entries, message):
    with pytest.raises(SimulationError) as err:
        parse_neuron_list(entries, NAMES, "lesion")
    assert str(err.value) == message


def test_tonic_stimulus_sums_repeats():
    ids, pA = parse_tonic_stimulus(["AVBL:30", "AVBR:-2.5", "AVBL:5"], NAMES)
    assert ids.tolist() == [2, 3] and pA.tolist() == [35.0, -2.5]
    ids, pA = parse_tonic_stimulus([], NAMES)
    assert ids.size == 0 and pA.size == 0 and pA.dtype == np.float64


@pytest.mark.parametrize("entry, message", [
    ("AVBX:30", "unknown neuron 'AVBX'"),
    ("AVBL", "'AVBL' is not of the form NAME:pA"),
    (":30", "':30' is not of the form NAME:pA"),
    ("AVBL:lots", "'AVBL:lots' has a current that is not a number"),
    ("AVBL:nan", "'AVBL:nan' has a non-finite current"),
    ("AVBL:inf", "'AVBL:inf' has a non-finite current"),
])
def test_tonic_stimulus_errors(entry, message):
    with pytest.raises(SimulationError, match=message) as err:
        parse_tonic_stimulus(["AVAL:1", entry], NAMES)
    assert str(err.value).startswith("tonic_stimulus: ")
