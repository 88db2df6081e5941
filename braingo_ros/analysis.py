"""Closed-loop run analysis: numpy series from an MCAP recording, and the run summary figures."""
from typing import NamedTuple

import numpy as np

from braingo_core.body.gait import shape_metrics
from braingo_ros import topics
from braingo_ros.recording import read_topics

TOPICS = {
    "joint_states": topics.JOINT_STATES,
    "odom": topics.ODOM,
    "motor": topics.MOTOR_VOLTAGES,
    "activation": topics.MUSCLE_ACTIVATION,
    "effort": topics.EFFORT_COMMANDS,
}


class RunSeries(NamedTuple):
    """Recorded series of one run; ``*_t_s`` are message stamps (sim time, s)."""
    joint_names: list
    joint_t_s: np.ndarray          # float64[k]
    joint_position_rad: np.ndarray  # float64[k, n_joints]
    odom_t_s: np.ndarray           # float64[m]
    head_xy_m: np.ndarray          # float64[m, 2]
    motor_mV: np.ndarray           # float64[p, n_motor], one row per control period
    activation: np.ndarray         # float64[q, 96], one row per control period
    effort_Nm: np.ndarray          # float64[r, n_joints], one row per control period


def _stamp_s(header):
    return header.stamp.sec + 1e-9 * header.stamp.nanosec


def _rows(messages, width=None):
    rows = [list(m.data) for _t, m in messages]
    width = width if width is not None else (len(rows[0]) if rows else 0)
    return np.array([r for r in rows if len(r) == width], dtype=np.float64).reshape(-1, width)


def load_run(mcap_path):
    """Read a closed-loop recording into a :class:`RunSeries`."""
    topics = read_topics(mcap_path, TOPICS.values())
    joints = topics.get(TOPICS["joint_states"], [])
    odom = topics.get(TOPICS["odom"], [])
    names = list(joints[0][1].name) if joints else []
    return RunSeries(
        joint_names=names,
        joint_t_s=np.array([_stamp_s(m.header) for _t, m in joints]),
        joint_position_rad=np.array([list(m.position) for _t, m in joints], dtype=np.float64).reshape(-1, len(names)),
        odom_t_s=np.array([_stamp_s(m.header) for _t, m in odom]),
        head_xy_m=np.array([[m.pose.pose.position.x, m.pose.pose.position.y] for _t, m in odom]).reshape(-1, 2),
        motor_mV=_rows(topics.get(TOPICS["motor"], [])),
        activation=_rows(topics.get(TOPICS["activation"], [])),
        effort_Nm=_rows(topics.get(TOPICS["effort"], []), width=len(names) or None),
    )


def summarize(run, body_length_m, wall_s, dropped_periods, latency_ms=None, medium=None):
    """Run summary (JSON-serialisable dict).

    Parameters
    ----------
    run : RunSeries
    body_length_m : float
        Body length used to express distances in body lengths (m).
    wall_s : float
        Wall-clock duration of the closed loop (s).
    dropped_periods : int
        Control periods the body advanced without a fresh command.
    latency_ms : float64[j], optional
        Joint-state publication -> matching effort command, per period (ms).
    medium : str, optional
        The drag preset the body moved through (body_sim_node's statistics).

    The gait figures (``wave_frequency_Hz``, ``wavelength_L``, ``curvature_amplitude_L``, ``bending_fraction``,
    ``motor_v_min_mV`` / ``motor_v_max_mV``) are those of :func:`braingo_core.body.gait.shape_metrics`.
    """
    sim_s = float(run.joint_t_s[-1] - run.joint_t_s[0]) if len(run.joint_t_s) > 1 else 0.0
    displacement_m = float(np.linalg.norm(run.head_xy_m[-1] - run.head_xy_m[0])) if len(run.head_xy_m) else 0.0
    path_m = float(np.linalg.norm(np.diff(run.head_xy_m, axis=0), axis=1).sum()) if len(run.head_xy_m) > 1 else 0.0
    summary = {
        "sim_time_s": sim_s,
        "wall_time_s": float(wall_s),
        "real_time_factor": sim_s / wall_s if wall_s > 0 else None,
        "control_periods": int(len(run.effort_Nm)),
        "dropped_periods": int(dropped_periods),
        "body_length_m": float(body_length_m),
        "head_displacement_m": displacement_m,
        "distance_body_lengths": displacement_m / body_length_m,
        "head_path_body_lengths": path_m / body_length_m,
        "medium": medium,
        "max_abs_joint_angle_rad": float(np.abs(run.joint_position_rad).max()) if run.joint_position_rad.size else 0.0,
        "messages": {"joint_states": len(run.joint_t_s), "odom": len(run.odom_t_s), "motor_voltages": len(run.motor_mV),
                     "muscle_activation": len(run.activation), "effort_commands": len(run.effort_Nm)},
    }
    shape = (shape_metrics(run.joint_t_s, run.joint_position_rad, run.motor_mV)
             if len(run.joint_t_s) >= 2 and run.joint_position_rad.size else {})
    summary.update({
        "wave_frequency_Hz": shape.get("wave_hz"), "wavelength_L": shape.get("wavelength_L"),
        "curvature_amplitude_L": shape.get("curvature_amplitude_L"), "bending_fraction": shape.get("bending_fraction"),
        "motor_v_min_mV": shape.get("v_min_mV"), "motor_v_max_mV": shape.get("v_max_mV"),
    })
    if latency_ms is not None and len(latency_ms):
        summary["latency_ms_median"] = float(np.median(latency_ms))
        summary["latency_ms_p99"] = float(np.percentile(latency_ms, 99))
    return summary
