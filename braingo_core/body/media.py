"""The medium the body moves through: named resistive-force drag presets, chosen by name.

The ``media`` section of config/caterpillar.yaml lists the presets in the worm's own units (drag per unit
body length, kg m^-1 s^-1 = N s m^-2, along the body ``c_t`` and across it ``c_n``) and one
``robot_scale``: the robot's coefficients are ``robot_scale x`` the worm's, so the ratio c_n/c_t and the
ratios between media are the animal's. ``physics.medium`` names the preset the body uses by default;
``with_medium`` swaps it (the ROS-free loop, the benches and body_sim_node's ``medium`` parameter).

API
---
``parse_media(section, path) -> dict[str, Medium]``
    Validate the ``media`` section; robot-unit coefficients per preset name.
``Medium`` (NamedTuple): ``c_t``, ``c_n`` (robot, N s/m^2), ``worm_c_t``, ``worm_c_n`` (kg m^-1 s^-1).
``medium_drag(media, name, path) -> Medium``
    The preset ``name``; BodyError listing the valid names for an unknown one.
``with_medium(config, name) -> BodyConfig``
    A copy of the body config moving through preset ``name`` (``medium``, ``drag_c_t``, ``drag_c_n``).
``media_by_load(config) -> list[str]``
    Preset names from the lightest to the heaviest load (ascending ``c_n``, then ``c_t``).
"""
import dataclasses
from typing import NamedTuple

import numpy as np

from braingo_core.errors import BodyError


class Medium(NamedTuple):
    """Drag coefficients of one medium: robot units (N s/m^2 per unit segment length) and the worm's."""
    c_t: float
    c_n: float
    worm_c_t: float
    worm_c_n: float


def _positive(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise BodyError(f"{where} must be a finite number > 0, got {value!r}")
    return float(value)


def parse_media(section, path):
    """Robot-unit drag of every preset of the ``media`` section.

    Parameters
    ----------
    section : dict
        ``{"robot_scale": s, "presets": {name: {"c_t": kg/(m s), "c_n": kg/(m s)}, ...}}``.
    path : str
        The config file, for messages.

    Raises
    ------
    BodyError
        Missing section or key, a coefficient that is not a finite number > 0, an unknown key.
    """
    if not isinstance(section, dict) or not section:
        raise BodyError(f"{path}: missing section 'media' (robot_scale and presets)")
    if unknown := sorted(set(section) - {"robot_scale", "presets"}):
        raise BodyError(f"{path}: media: unknown key(s) {unknown} (known: ['presets', 'robot_scale'])")
    scale = _positive(section.get("robot_scale"), f"{path}: media.robot_scale")
    presets = section.get("presets")
    if not isinstance(presets, dict) or not presets:
        raise BodyError(f"{path}: media.presets must map preset names to {{c_t, c_n}}, got {presets!r}")
    out = {}
    for name, entry in presets.items():
        where = f"{path}: media.presets.{name}"
        if not isinstance(entry, dict) or set(entry) != {"c_t", "c_n"}:
            raise BodyError(f"{where} must have exactly the keys c_t and c_n, got {entry!r}")
        worm_t, worm_n = _positive(entry["c_t"], f"{where}.c_t"), _positive(entry["c_n"], f"{where}.c_n")
        out[str(name)] = Medium(scale * worm_t, scale * worm_n, worm_t, worm_n)
    return out


def medium_drag(media, name, path):
    """The preset ``name`` of ``media`` (from :func:`parse_media`); BodyError listing the valid names."""
    if name not in media:
        raise BodyError(f"{path}: unknown medium {name!r}; valid media: {', '.join(sorted(media))}")
    return media[name]


def with_medium(config, name):
    """A copy of ``config`` (BodyConfig) in the medium ``name``: ``medium``, ``drag_c_t``, ``drag_c_n`` swapped."""
    m = medium_drag(config.media, name, config.path)
    return dataclasses.replace(config, medium=name, drag_c_t=m.c_t, drag_c_n=m.c_n)


def media_by_load(config):
    """Preset names of ``config`` from the lightest load to the heaviest (ascending c_n, then c_t)."""
    return sorted(config.media, key=lambda k: (config.media[k].c_n, config.media[k].c_t))
