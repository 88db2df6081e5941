"""Motor-neuron voltages -> 96 body-wall muscle activations -> joint efforts.

API
---
``SigmoidMuscleMap(neurons, weights, v_th_mV, scale_mV)``
    ``neurons``: names in the order of the input voltages (``motor_neurons``); ``weights``:
    float[n_neurons, 96] neuron->muscle table, negative entries inhibit (GABAergic D-class); ``v_th_mV``:
    one threshold or float[n_neurons].
    ``activations(v_mV, out=None) -> float64[96]``:
    ``act_m = clip(sum_i w_im * sigmoid((V_i - v_th) / scale) / sum_i max(w_im, 0), 0, 1)``;
    a muscle without excitatory input stays at 0; a NaN voltage contributes nothing.
``SigmoidMuscleMap.from_table(table, neurons, config, inhibitory=(), v_th_mV=None)``
    From the worm database metadata ``"neuron_muscle"`` (``{"neurons": [...], "weights": [[96], ...]}``,
    Cook 2019 NMJ counts): rows picked in ``neurons`` order (zero for neurons not in the table), rows of
    ``inhibitory`` names negated; threshold and scale from the config's ``sigmoid`` section (``v_th_mV``,
    ``scale_mV``, and ``class_v_th_mV`` (``{DA: -35.0}``) setting the threshold of every neuron of a class,
    name = class + number); an explicit ``v_th_mV`` replaces all thresholds.
``CnnMuscleMap(weight, bias, neurons, offset, divisor)``
    A Conv1d (PyTorch layout: ``weight`` float[96, n_in, kernel], ``bias`` float[96]) over the last
    ``kernel`` frames of the input voltages, one frame per call (per control period). ``activations(v_mV,
    out=None)`` pushes a frame and returns ``clip((y + offset) / divisor, 0, 1)`` with ``y`` the conv
    output at the newest frame (cross-correlation, no padding). The history starts filled with the first
    frame; a NaN voltage repeats that neuron's previous value. ``reset()`` empties the history.
``CnnMuscleMap.load(path, config, neurons=None)``
    From a .npz with ``weight``, ``bias`` and optionally ``neurons`` (input names); ``offset``, ``divisor``
    and the expected shapes come from the config's ``cnn`` section; a mismatch raises BodyError.
``muscle_map(kind, config, metadata=None, motor_neurons=None, cnn_weights=None)``
    The one place a map is built (muscle_node and the ROS-free loop): ``"sigmoid"`` from the database
    ``metadata`` (``neuron_muscle``, ``inhibitory_neurons``; input order ``motor_neurons`` or the
    metadata's), ``"cnn"`` from the ``cnn_weights`` .npz (input order ``motor_neurons`` or the file's).
``muscles_to_efforts(act, config, out=None) -> float64[n_joints]``
    ``torque = config.muscle_gain_Nm * config.muscle_joint @ act`` (dorsal minus ventral activation of the
    muscles spanning each joint), clipped to +-``config.effort_limit_Nm``; NaN activations count as 0.
"""
import logging
import pathlib

import numpy as np

from braingo_core.body.description import finite_number, section_field
from braingo_core.errors import BodyError

log = logging.getLogger(__name__)

N_MUSCLES = 96
MAPS = ("sigmoid", "cnn")


def _class_thresholds(neurons, by_class, default_mV, path):
    """float[n_neurons] thresholds: ``by_class[cls]`` for names ``<cls><digits>``, else ``default_mV``."""
    if not isinstance(by_class, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in by_class.values()):
        raise BodyError(f"{path}: sigmoid.class_v_th_mV must map a class (DA) to a finite mV value, "
                        f"got {by_class!r}")
    return np.array([float(by_class.get(n.rstrip("0123456789"), default_mV)) if n[-1:].isdigit()
                     else float(default_mV) for n in neurons])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


class SigmoidMuscleMap:
    """Static map: sigmoid of each motor-neuron voltage through a normalised neuron->muscle table."""

    def __init__(self, neurons, weights, v_th_mV, scale_mV):
        self.neurons = tuple(str(n) for n in neurons)
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.neurons), N_MUSCLES):
            raise BodyError(f"neuron->muscle weights: expected shape ({len(self.neurons)}, {N_MUSCLES}) "
                            f"for {len(self.neurons)} neurons, got {w.shape}")
        if not np.isfinite(w).all():
            raise BodyError("neuron->muscle weights contain NaN or inf")
        v_th = np.asarray(v_th_mV, dtype=np.float64)
        if not (np.isfinite(scale_mV) and scale_mV > 0 and np.isfinite(v_th).all()
                and v_th.shape in ((), (len(self.neurons),))):
            raise BodyError(f"sigmoid: scale_mV must be > 0 and v_th_mV finite (one value or one per neuron), "
                            f"got {scale_mV}, {v_th_mV}")
        self.v_th_mV = v_th if v_th.ndim else float(v_th)
        self.scale_mV = float(scale_mV)
        norm = np.clip(w, 0.0, None).sum(axis=0)
        self._wt = np.ascontiguousarray((w / np.where(norm > 0, norm, 1.0)).T * (norm > 0)[:, None])
        self._s = np.zeros(len(self.neurons))

    @classmethod
    def from_table(cls, table, neurons, config, inhibitory=(), v_th_mV=None):
        """Build from ``{"neurons": [...], "weights": [[96 floats], ...]}`` (database metadata)."""
        try:
            names = [str(n) for n in table["neurons"]]
            rows = np.asarray(table["weights"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise BodyError(f"neuron_muscle table: needs 'neurons' and numeric 'weights' ({exc})") from exc
        if rows.shape != (len(names), N_MUSCLES):
            raise BodyError(f"neuron_muscle table: weights shape {rows.shape}, expected ({len(names)}, {N_MUSCLES})")
        index = {n: i for i, n in enumerate(names)}
        neg = set(inhibitory)
        w = np.zeros((len(neurons), N_MUSCLES))
        for k, n in enumerate(neurons):
            if n in index:
                w[k] = -rows[index[n]] if n in neg else rows[index[n]]
        if missing := [n for n in neurons if n not in index]:
            log.info("neuron_muscle table has no row for %d input neurons (no muscle output): %s",
                     len(missing), ", ".join(missing[:10]))
        scale_mV = finite_number(config, "sigmoid.scale_mV", section_field(config, "sigmoid", "scale_mV"))
        if v_th_mV is None:
            default_mV = finite_number(config, "sigmoid.v_th_mV", section_field(config, "sigmoid", "v_th_mV"))
            v_th_mV = _class_thresholds(neurons, config.sections["sigmoid"].get("class_v_th_mV") or {},
                                        default_mV, config.path)
        return cls(neurons, w, v_th_mV=v_th_mV, scale_mV=scale_mV)

    def activations(self, v_mV, out=None):
        """Muscle activations float64[96] (0..1) for soma voltages ``v_mV`` float[n_neurons] (neuron order)."""
        v = np.asarray(v_mV, dtype=np.float64)
        if v.shape != (len(self.neurons),):
            raise BodyError(f"motor voltages: expected {len(self.neurons)} values, got shape {v.shape}")
        s = self._s
        np.subtract(v, self.v_th_mV, out=s)
        s /= self.scale_mV
        s[:] = _sigmoid(s)
        s[np.isnan(s)] = 0.0
        out = np.empty(N_MUSCLES) if out is None else out
        np.dot(self._wt, s, out=out)
        return np.clip(out, 0.0, 1.0, out=out)


class CnnMuscleMap:
    """Conv1d over the recent motor-voltage history (BAAIWorm-style muscle model), numpy only."""

    def __init__(self, weight, bias, neurons, offset, divisor):
        w = np.asarray(weight, dtype=np.float64)
        b = np.asarray(bias, dtype=np.float64)
        self.neurons = tuple(str(n) for n in neurons)
        if w.ndim != 3 or w.shape[0] != N_MUSCLES or w.shape[1] != len(self.neurons) or w.shape[2] < 1:
            raise BodyError(f"Conv1d weight: expected shape ({N_MUSCLES}, {len(self.neurons)} input neurons, kernel), "
                            f"got {w.shape}")
        if b.shape != (N_MUSCLES,):
            raise BodyError(f"Conv1d bias: expected shape ({N_MUSCLES},), got {b.shape}")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise BodyError("Conv1d weight or bias contains NaN or inf")
        if not divisor or not np.isfinite(divisor) or not np.isfinite(offset):
            raise BodyError(f"Conv1d post-processing: divisor must be finite and non-zero, got {divisor}")
        self.kernel = w.shape[2]
        self.offset = float(offset)
        self.divisor = float(divisor)
        n_in = len(self.neurons)
        # weight as [96, kernel * n_in] matching a [kernel, n_in] window in time order
        self._w = np.ascontiguousarray(w.transpose(0, 2, 1).reshape(N_MUSCLES, self.kernel * n_in))
        self._b = b.copy()
        # doubled ring buffer: the window history[pos:pos + kernel] is always contiguous
        self._hist = np.zeros((2 * self.kernel, n_in))
        self._pos = 0
        self._filled = False

    @classmethod
    def load(cls, path, config, neurons=None):
        """Load ``weight`` [96, n_in, kernel], ``bias`` [96] and optional ``neurons`` from a .npz.

        ``neurons`` (input order) overrides the file's list; one of the two is required. ``offset``,
        ``divisor`` and the expected ``in_channels``/``kernel`` are the config's ``cnn`` section.
        """
        path = pathlib.Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise BodyError(f"{path}: cannot read Conv1d weights: {exc}") from exc
        for key in ("weight", "bias"):
            if key not in arrays:
                raise BodyError(f"{path}: missing array '{key}' (has {sorted(arrays)})")
        if neurons is None:
            if "neurons" not in arrays:
                raise BodyError(f"{path}: no 'neurons' array and no neuron list given")
            neurons = [str(n) for n in arrays["neurons"]]
        section = config.sections["cnn"]
        w = arrays["weight"]
        for axis, key in ((1, "in_channels"), (2, "kernel")):
            if key in section and (w.ndim != 3 or w.shape[axis] != int(section[key])):
                raise BodyError(f"{path}: weight shape {w.shape}, {config.path} cnn.{key} = {section[key]}")
        post = {key: finite_number(config, f"cnn.{key}", section_field(config, "cnn", key))
                for key in ("offset", "divisor")}
        try:
            return cls(w, arrays["bias"], neurons, **post)
        except BodyError as exc:
            raise BodyError(f"{path}: {exc}") from exc

    def reset(self):
        """Forget the voltage history."""
        self._hist[:] = 0.0
        self._pos = 0
        self._filled = False

    def activations(self, v_mV, out=None):
        """Push one frame of voltages float[n_in] (mV) and return muscle activations float64[96] (0..1)."""
        v = np.asarray(v_mV, dtype=np.float64)
        if v.shape != (len(self.neurons),):
            raise BodyError(f"motor voltages: expected {len(self.neurons)} values, got shape {v.shape}")
        k, h = self.kernel, self._hist
        if not self._filled:
            h[:] = np.where(np.isfinite(v), v, 0.0)
            self._filled = True
        else:
            prev = h[self._pos + k - 1]
            self._pos = (self._pos + 1) % k
            frame = np.where(np.isfinite(v), v, prev)
            h[self._pos + k - 1] = frame
            h[self._pos - 1 if self._pos > 0 else 2 * k - 1] = frame  # the mirror copy
        window = h[self._pos:self._pos + k].reshape(-1)
        out = np.empty(N_MUSCLES) if out is None else out
        np.dot(self._w, window, out=out)
        out += self._b
        out += self.offset
        out /= self.divisor
        np.nan_to_num(out, copy=False, nan=0.0)
        return np.clip(out, 0.0, 1.0, out=out)


def muscle_map(kind, config, metadata=None, motor_neurons=None, cnn_weights=None):
    """The muscle map ``kind`` (:data:`MAPS`) for ``config``; see the module docstring.

    Parameters
    ----------
    kind : {"sigmoid", "cnn"}
    config : BodyConfig
    metadata : dict, optional
        The .braindb metadata (``neuron_muscle``, ``motor_neurons``, ``inhibitory_neurons``); sigmoid only.
    motor_neurons : sequence of str, optional
        Input order; default the metadata's ``motor_neurons`` (sigmoid) or the .npz's list (cnn).
    cnn_weights : str or Path, optional
        The cnn map's .npz.

    Raises
    ------
    BodyError
        Unknown ``kind``, a database without a neuron->muscle table, bad weights.
    """
    motor_neurons = list(motor_neurons) if motor_neurons else None
    if kind == "cnn":
        return CnnMuscleMap.load(cnn_weights, config, neurons=motor_neurons)
    if kind != "sigmoid":
        raise BodyError(f"muscle map: {kind!r} is not one of {list(MAPS)}")
    metadata = metadata or {}
    if "neuron_muscle" not in metadata:
        raise BodyError("muscle map sigmoid: the database has no neuron_muscle table in its metadata")
    return SigmoidMuscleMap.from_table(metadata["neuron_muscle"], motor_neurons or list(metadata["motor_neurons"]),
                                       config, inhibitory=metadata.get("inhibitory_neurons", ()))


def muscles_to_efforts(act, config, out=None):
    """Joint torques float64[n_joints] (N m, joint order) from muscle activations float[96] (0..1).

    Per joint: gain * (mean dorsal - mean ventral activation of the muscle rows spanning it, weighted as
    in ``config.muscles.joint_rows``), clipped to the effort limit. Activations are clipped to [0, 1] and
    NaN counts as 0, so the result is always finite and within limits.
    """
    a = np.asarray(act, dtype=np.float64)
    if a.shape != (N_MUSCLES,):
        raise BodyError(f"muscle activations: expected {N_MUSCLES} values, got shape {a.shape}")
    a = np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0)
    out = np.empty(config.n_joints) if out is None else out
    np.dot(config.muscle_joint, a, out=out)
    out *= config.muscle_gain_Nm
    return np.clip(out, -config.effort_limit_Nm, config.effort_limit_Nm, out=out)
