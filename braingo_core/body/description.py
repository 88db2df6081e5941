"""Robot description: render urdf/caterpillar.urdf.xacro and load config/caterpillar.yaml.

API
---
``load_config(path=None) -> BodyConfig``
    Parse and validate config/caterpillar.yaml (default: the package's own).
``render_urdf(segments=None, sim="mujoco", xacro_path=None, **args) -> str``
    Expand the xacro with the ``xacro`` package; ``segments=None`` keeps the xacro default (12).
``urdf_joints(urdf_xml) -> list[UrdfJoint]``
    The URDF's non-fixed joints in document (parent-to-child) order.
``section_field(config, section, key)``, ``finite_number(config, where, value) -> float``
    Field readers of the raw sections, for the sensory and muscle maps (BodyError naming file and field).
``check_joints(config, urdf_xml) -> None``
    Raise BodyError unless the URDF's joints are exactly ``config.joints`` (same order) with the
    config's effort limit.

Share files (the default config and xacro) are found by :func:`braingo_core.share.share_file`.
"""
import dataclasses
import logging
import pathlib
import re
import xml.etree.ElementTree as ET

import numpy as np
import yaml

from braingo_core.body.media import medium_drag, parse_media
from braingo_core.errors import BodyError
from braingo_core.share import share_file

log = logging.getLogger(__name__)

N_ROWS = 24
#: Sections of the config file kept raw in ``BodyConfig.sections`` for the maps and the closed loop to read.
SECTIONS = ("sigmoid", "cnn", "proprioception", "chemosensation", "touch", "locomotion")
_MUSCLE_RE = re.compile(r"^([A-Z]{2})(\d{2})$")


@dataclasses.dataclass(frozen=True)
class UrdfJoint:
    """One URDF joint: name, type, parent/child link, axis and limits (rad, N m, rad/s)."""

    name: str
    type: str
    parent: str
    child: str
    axis: tuple
    lower_rad: float
    upper_rad: float
    effort_Nm: float
    velocity_rad_s: float


@dataclasses.dataclass(frozen=True)
class BodyConfig:
    """Validated config/caterpillar.yaml.

    Attributes
    ----------
    path : str
        The file it was read from.
    segments, joints, head_link
        Segment count, joint names in the order used everywhere, the head (odometry) link.
    effort_limit_Nm, joint_limit_rad : float
        Per-joint torque limit and angle limit (each side).
    muscle_names : tuple of str
        The 96 body-wall muscles, order of every muscle array.
    muscle_gain_Nm : float
        Joint torque for full dorsal and no ventral activation.
    muscle_joint : float64[n_joints, 96]
        Signed, normalised muscle-to-joint weights: ``torque = muscle_gain_Nm * muscle_joint @ act``.
    row_joint : float64[24, n_joints]
        Interpolation of joint angles to muscle rows: ``row_angle = row_joint @ joint_angle``.
    timestep_s, control_period_s, integrator, joint_stiffness_Nm_per_rad, armature_kg_m2, limit_timeconst_s,
    drag_c_t, drag_c_n, clearance_m
        Physics settings (drag coefficients in N s/m^2, per unit segment length, those of ``medium``).
    medium : str
        Name of the medium the body moves through (``physics.medium``; :func:`braingo_core.body.media.with_medium`
        swaps it).
    media : dict
        Every preset of the ``media`` section, name -> :class:`braingo_core.body.media.Medium`.
    obstacles : tuple of dict
        Static boxes ``{"pos_m": [x, y], "half_size_m": [a, b]}`` placed in the world (touch input).
    sections : dict
        The raw ``sigmoid``, ``cnn``, ``proprioception``, ``chemosensation``, ``touch`` and ``locomotion``
        sections (:data:`SECTIONS`).
    """

    path: str
    segments: int
    joints: tuple
    head_link: str
    effort_limit_Nm: float
    joint_limit_rad: float
    muscle_names: tuple
    muscle_gain_Nm: float
    muscle_joint: np.ndarray
    row_joint: np.ndarray
    timestep_s: float
    control_period_s: float
    integrator: str
    joint_stiffness_Nm_per_rad: float
    armature_kg_m2: float
    limit_timeconst_s: float
    drag_c_t: float
    drag_c_n: float
    clearance_m: float
    medium: str
    media: dict
    obstacles: tuple
    sections: dict

    @property
    def n_joints(self):
        return len(self.joints)


def _get(doc, path, key, kind=None):
    if not isinstance(doc, dict) or key not in doc:
        raise BodyError(f"{path}: missing field '{key}'")
    value = doc[key]
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise BodyError(f"{path}: field '{key}' must be a finite number, got {value!r}")
        return float(value)
    if kind is not None and not isinstance(value, kind):
        raise BodyError(f"{path}: field '{key}' must be a {kind.__name__}, got {value!r}")
    return value


def section_field(config, section, key):
    """``config.sections[section][key]``; BodyError naming file and field when it is missing."""
    values = config.sections[section]
    if key not in values:
        raise BodyError(f"{config.path}: {section}: missing field '{key}'")
    return values[key]


def finite_number(config, where, value):
    """``value`` as a float; BodyError naming ``config.path`` and ``where`` unless it is a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise BodyError(f"{config.path}: {where} must be a finite number, got {value!r}")
    return float(value)


def _muscle_matrices(path, muscles, joints):
    names = tuple(_get(muscles, path, "names", list))
    if len(names) != 96 or len(set(names)) != 96:
        raise BodyError(f"{path}: muscles.names must list 96 distinct muscles, "
                        f"got {len(names)} ({len(set(names))} distinct)")
    dorsal = set(_get(muscles, path, "dorsal", list))
    ventral = set(_get(muscles, path, "ventral", list))
    phantom = set(muscles.get("phantom") or [])
    parsed = []
    for name in names:
        m = _MUSCLE_RE.match(str(name))
        if not m or not 1 <= int(m[2]) <= N_ROWS or m[1] not in dorsal | ventral:
            raise BodyError(f"{path}: muscle '{name}' is not <dorsal|ventral quadrant><row 01..{N_ROWS}>")
        parsed.append((m[1] in dorsal, int(m[2]) - 1, name in phantom))
    if unknown := phantom - set(names):
        raise BodyError(f"{path}: muscles.phantom names unknown muscles {sorted(unknown)}")
    # per row: +1/n_dorsal for each real dorsal muscle, -1/n_ventral for each real ventral one
    side = np.zeros((N_ROWS, 96))
    for m, (is_dorsal, row, is_phantom) in enumerate(parsed):
        if not is_phantom:
            side[row, m] = 1.0 if is_dorsal else -1.0
    for sign in (1.0, -1.0):
        count = (side == sign).sum(axis=1, keepdims=True)
        side = np.where(side == sign, sign / np.maximum(count, 1), side)
    table = _get(muscles, path, "joint_rows", dict)
    if list(table) != list(joints):
        raise BodyError(f"{path}: muscles.joint_rows must have one entry per joint in joint order, "
                        f"got {list(table)} for joints {list(joints)}")
    hat = np.zeros((len(joints), N_ROWS))
    for k, joint in enumerate(joints):
        entry = table[joint]
        rows = _get(entry, f"{path}: muscles.joint_rows.{joint}", "rows", list)
        weights = _get(entry, f"{path}: muscles.joint_rows.{joint}", "weights", list)
        if len(rows) != len(weights) or not rows:
            raise BodyError(f"{path}: muscles.joint_rows.{joint}: rows and weights differ in length or are empty")
        for r, w in zip(rows, weights):
            if not isinstance(r, int) or not 1 <= r <= N_ROWS or not isinstance(w, (int, float)) or not w > 0:
                raise BodyError(f"{path}: muscles.joint_rows.{joint}: bad row {r!r} or weight {w!r}")
            hat[k, r - 1] += float(w)
    muscle_joint = (hat / hat.sum(axis=1, keepdims=True)) @ side
    covered = hat.sum(axis=0)
    if not covered.all():
        raise BodyError(f"{path}: muscle rows {list(np.nonzero(covered == 0)[0] + 1)} act on no joint")
    row_joint = hat.T / covered[:, None]
    return names, muscle_joint, row_joint


def load_config(path=None):
    """Read and validate the body config.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        YAML file; default ``config/caterpillar.yaml`` of the package.

    Returns
    -------
    BodyConfig

    Raises
    ------
    BodyError
        Unreadable file, missing field or inconsistent value (the message names file and field).
    """
    path = pathlib.Path(path) if path is not None else share_file("config/caterpillar.yaml")
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise BodyError(f"{path}: cannot read body config: {exc}") from exc
    segments = _get(doc, path, "segments", int)
    joints = tuple(_get(doc, path, "joints", list))
    if segments < 2 or len(joints) != segments - 1 or len(set(joints)) != len(joints):
        raise BodyError(f"{path}: 'joints' must list segments - 1 = {segments - 1} distinct names, got {len(joints)}")
    physics = _get(doc, path, "physics", dict)
    ppath = f"{path}: physics"
    timestep_s = _get(physics, ppath, "timestep_s", float)
    period_s = _get(physics, ppath, "control_period_s", float)
    steps = round(period_s / timestep_s) if timestep_s > 0 else 0
    if timestep_s <= 0 or steps < 1 or abs(steps * timestep_s - period_s) > 1e-9 * period_s:
        raise BodyError(f"{ppath}: control_period_s {period_s} is not a whole number of timestep_s {timestep_s}")
    integrator = _get(physics, ppath, "integrator", str)
    if integrator not in ("euler", "implicit", "implicitfast"):
        raise BodyError(f"{ppath}: integrator must be euler, implicit or implicitfast, got '{integrator}'")
    values = {k: _get(physics, ppath, k, float) for k in (
        "joint_stiffness_Nm_per_rad", "armature_kg_m2", "limit_timeconst_s", "clearance_m")}
    if min(values.values()) < 0:
        raise BodyError(f"{ppath}: stiffness, armature, limit time constant and clearance must be >= 0, got {values}")
    media = parse_media(doc.get("media"), path)
    medium = _get(physics, ppath, "medium", str)
    drag = medium_drag(media, medium, ppath)
    obstacles = tuple(physics.get("obstacles") or ())
    for ob in obstacles:
        if (not isinstance(ob, dict) or len(ob.get("pos_m", ())) != 2 or len(ob.get("half_size_m", ())) != 2):
            raise BodyError(f"{ppath}: obstacle {ob!r} needs pos_m [x, y] and half_size_m [a, b]")
    muscles = _get(doc, path, "muscles", dict)
    names, muscle_joint, row_joint = _muscle_matrices(path, muscles, joints)
    limit = _get(doc, path, "effort_limit_Nm", float)
    joint_limit = _get(doc, path, "joint_limit_rad", float)
    if limit <= 0 or joint_limit <= 0:
        raise BodyError(f"{path}: effort_limit_Nm and joint_limit_rad must be > 0")
    return BodyConfig(
        path=str(path), segments=segments, joints=joints, head_link=_get(doc, path, "head_link", str),
        effort_limit_Nm=limit, joint_limit_rad=joint_limit, muscle_names=names,
        muscle_gain_Nm=_get(muscles, f"{path}: muscles", "gain_Nm", float),
        muscle_joint=muscle_joint, row_joint=row_joint, timestep_s=timestep_s, control_period_s=period_s,
        integrator=integrator, obstacles=obstacles, **values, drag_c_t=drag.c_t, drag_c_n=drag.c_n,
        medium=medium, media=media,
        sections={k: doc.get(k) or {} for k in SECTIONS})


def render_urdf(segments=None, sim="mujoco", xacro_path=None, **args):
    """Expand the caterpillar xacro to URDF text.

    Parameters
    ----------
    segments : int, optional
        Segment count (xacro arg ``segments``); None keeps the xacro default.
    sim : {"mujoco", "gazebo", "hardware"}
        Which simulator/hardware extras to emit.
    xacro_path : str or pathlib.Path, optional
        Top-level xacro; default ``urdf/caterpillar.urdf.xacro`` of the package.
    **args
        Further xacro arguments (``prefix``, ``hardware_plugin``, ``controllers``), as strings.

    Raises
    ------
    BodyError
        If xacro fails (bad argument, missing include).
    """
    import xacro

    path = pathlib.Path(xacro_path) if xacro_path is not None else share_file("urdf/caterpillar.urdf.xacro")
    mappings = {"sim": str(sim), **{k: str(v) for k, v in args.items()}}
    if segments is not None:
        mappings["segments"] = str(int(segments))
    log.debug("rendering %s with %s", path, mappings)
    try:
        doc = xacro.process_file(str(path), mappings=mappings)
    except Exception as exc:  # xacro raises XacroException, NameError, ... from user expressions
        raise BodyError(f"{path}: xacro failed with {mappings}: {exc}") from exc
    return doc.toprettyxml(indent="  ")


def urdf_joints(urdf_xml):
    """Non-fixed joints of a URDF, in document order.

    Raises
    ------
    BodyError
        If the text is not a URDF robot or a joint lacks a name, parent, child or limit.
    """
    try:
        root = ET.fromstring(urdf_xml)
    except ET.ParseError as exc:
        raise BodyError(f"URDF is not valid XML: {exc}") from exc
    if root.tag != "robot":
        raise BodyError(f"URDF root element is <{root.tag}>, expected <robot>")
    joints = []
    for j in root.findall("joint"):
        kind = j.get("type")
        if kind == "fixed":
            continue
        name, parent, child, limit = j.get("name"), j.find("parent"), j.find("child"), j.find("limit")
        if not name or parent is None or child is None or (limit is None and kind != "continuous"):
            raise BodyError(f"URDF joint '{name}' lacks name, parent, child or limit")
        lim = limit.attrib if limit is not None else {}
        axis = j.find("axis")
        joints.append(UrdfJoint(
            name=name, type=kind, parent=parent.get("link"), child=child.get("link"),
            axis=tuple(float(v) for v in (axis.get("xyz") if axis is not None else "1 0 0").split()),
            lower_rad=float(lim.get("lower", "-inf")), upper_rad=float(lim.get("upper", "inf")),
            effort_Nm=float(lim.get("effort", "inf")), velocity_rad_s=float(lim.get("velocity", "inf"))))
    return joints


def check_joints(config, urdf_xml):
    """Check that the URDF's joints are the config's joint list, in order, with its effort limit.

    Raises
    ------
    BodyError
        Naming the first mismatch.
    """
    joints = urdf_joints(urdf_xml)
    names = [j.name for j in joints]
    if names != list(config.joints):
        raise BodyError(f"{config.path}: joints {list(config.joints)} differ from the URDF's {names}")
    for j in joints:
        if j.type != "revolute" or j.effort_Nm != config.effort_limit_Nm:
            raise BodyError(f"URDF joint '{j.name}': type {j.type}, effort {j.effort_Nm} N m; "
                            f"{config.path} expects revolute with effort_limit_Nm {config.effort_limit_Nm}")
