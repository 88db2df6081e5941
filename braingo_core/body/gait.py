"""Gait metrics of an undulating chain: speed along the body axis, wave frequency, lag, wavelength, alternation,
body curvature and the motor-neuron voltage range.

All functions take plain arrays sampled once per control period (a :class:`~braingo_core.body.closed_loop.
LoopTrace` provides them). Conventions: joints are ordered head to tail, joint k sits at k/segments of the body
length from the head; a head-to-tail (forward-crawl) wave gives a positive lag and a positive wavelength; a
positive speed moves the body towards its head.

API
---
``axial_velocity_L_per_s(t_s, head_xy_m, com_xy_m, body_length_m)``, ``axial_speed_L_per_s(...)``
    Velocity of the centre of mass projected on the body axis (centre of mass -> head), in body lengths/s,
    per sample interval / averaged over the record.
``reversal_time_s(t_s, head_xy_m, com_xy_m, body_length_m, switch_s, window_s=1.0)``
    Time after a drive switch until the running-mean axial velocity turns (and stays) below -0.01 L/s.
``wave_frequency_Hz(t_s, joint_rad, min_amplitude_rad=0.01)``
    Peak of the mean joint-angle power spectrum (parabolic refinement), or None without a clear wave.
``xcorr_lag_s(t_s, anterior, posterior, max_lag_s)``
    Lag (s) maximising the cross-correlation of ``posterior(t)`` with ``anterior(t - lag)``; > 0 when the
    posterior joint follows the anterior one.
``wave_lag_s(t_s, joint_rad, frequency_Hz=None)``
    Lag of the joint at 3/4 of the body behind the joint at 1/4: the sum of the ``xcorr_lag_s`` of each
    pair of neighbouring joints between them, each searched within half a period.
``wavelength_L(joint_rad, frequency_Hz, dt_s, joint_pos_L)``
    From the slope of the unwrapped phase (at the wave frequency) along the body, each joint weighted by its
    amplitude at that frequency; signed as the lag.
``dorsoventral_alternation(joint_rad, min_amplitude_rad=0.02)``
    Mean over joints of min(dorsal, ventral excursion) / max(...) (95th / 5th percentiles): 1 for bends that
    swing equally to both sides, 0 for bends held on one side or no bending.
``curvature_L(joint_rad)``
    Curvature x body length at each joint, float64[k, n_joints]: a chain of ``n_joints + 1`` segments of
    length l bends by the joint angle theta over one segment, kappa = theta / l, so kappa L = (n_joints + 1) theta.
``curvature_amplitude_L(joint_rad)``
    Peak |kappa L| at each joint (95th percentile over time), float64[n_joints].
``bending_fraction(amplitude_L, threshold_L=4.0)``
    Fraction of the body length whose peak |kappa L| reaches ``threshold_L``: each joint stands for an equal
    share 1 / n_joints of the body (the worm bends by kappa L ~ 5-8 on agar).
``joint_positions_L(n_joints)``: float64[n_joints] joint k at k / (n_joints + 1) of the body from the head.
``shape_metrics(t_s, joint_rad, motor_mV=None) -> dict``: frequency, lag, wavelength, alternation, curvature
    amplitude, bending fraction and motor-neuron voltage range (what a recording without a trajectory gives).
``gait_metrics(trace, start_s=0.0) -> dict``: all of the above for the part of a LoopTrace after ``start_s``.
``plot_gait(trace, path, start_s=0.0, title="", zoom_s=2.0)``: kymograph of joint angles (whole record and
    its last ``zoom_s`` seconds) and head trajectory (PNG).
``plot_curvature_kymographs(traces, path, start_s=0.0, window_s=4.0)``: kymographs of kappa L (time x body
    position) of several runs side by side, e.g. ``{"agar": trace, "water": trace}`` (PNG).
"""
import logging

import numpy as np

log = logging.getLogger(__name__)


def _dt(t_s):
    t = np.asarray(t_s, dtype=np.float64)
    if t.ndim != 1 or len(t) < 2:
        raise ValueError(f"time axis: need at least 2 samples, got shape {t.shape}")
    return float(np.median(np.diff(t)))


def axial_velocity_L_per_s(t_s, head_xy_m, com_xy_m, body_length_m):
    """Centre-of-mass velocity along the unit vector centre of mass -> head, per sample interval.

    Parameters
    ----------
    t_s : float64[k]
    head_xy_m, com_xy_m : float64[k, 2]
    body_length_m : float

    Returns
    -------
    float64[k - 1]
        Body lengths per second over each interval (the axis is the mean of its two ends).
    """
    t = np.asarray(t_s, dtype=np.float64)
    head, com = np.asarray(head_xy_m, dtype=np.float64), np.asarray(com_xy_m, dtype=np.float64)
    if head.shape != (len(t), 2) or com.shape != (len(t), 2):
        raise ValueError(f"head/com: expected shape ({len(t)}, 2), got {head.shape}, {com.shape}")
    axis = head - com
    axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-12)
    mid_axis = 0.5 * (axis[1:] + axis[:-1])
    step = np.einsum("ij,ij->i", np.diff(com, axis=0), mid_axis)
    return step / np.diff(t) / body_length_m


def axial_speed_L_per_s(t_s, head_xy_m, com_xy_m, body_length_m):
    """Mean of :func:`axial_velocity_L_per_s` over the record (body lengths/s; > 0 towards the head)."""
    t = np.asarray(t_s, dtype=np.float64)
    if len(t) < 2 or t[-1] <= t[0]:
        return 0.0
    v = axial_velocity_L_per_s(t, head_xy_m, com_xy_m, body_length_m)
    return float(np.sum(v * np.diff(t)) / (t[-1] - t[0]))


def reversal_time_s(t_s, head_xy_m, com_xy_m, body_length_m, switch_s, window_s=1.0, min_speed_L_per_s=0.01):
    """Time after ``switch_s`` until the ``window_s`` running mean of the axial velocity falls below
    ``-min_speed_L_per_s`` and stays there for another ``window_s`` (the end of the first such window is
    reported); None if it never does, so a body that only shifts its posture does not count as reversing."""
    t = np.asarray(t_s, dtype=np.float64)
    v = axial_velocity_L_per_s(t, head_xy_m, com_xy_m, body_length_m)
    w = max(1, int(round(window_s / _dt(t))))
    if len(v) < 2 * w:
        return None
    mean = np.convolve(v, np.ones(w) / w, mode="valid")   # mean[i] covers intervals i .. i + w - 1
    end_t = t[w:len(mean) + w]
    neg = mean < -min_speed_L_per_s
    for i in np.flatnonzero((end_t > switch_s) & neg):
        if i + w < len(neg) and neg[i:i + w + 1].all():
            return float(end_t[i] - switch_s)
    return None


def wave_frequency_Hz(t_s, joint_rad, min_amplitude_rad=0.01, min_cycles=2.0, min_peak_ratio=4.0):
    """Dominant undulation frequency (Hz) of float64[k, n_joints] angles, or None when there is no clear wave.

    The peak of the Hann-windowed power spectrum averaged over joints, refined by a parabola through the
    log power of its neighbours; None when the angles vary less than ``min_amplitude_rad`` (std), when the
    peak fits fewer than ``min_cycles`` cycles, or when it is under ``min_peak_ratio`` times the mean power.
    """
    x = np.asarray(joint_rad, dtype=np.float64)
    dt = _dt(t_s)
    if len(x) < 8:
        return None
    x = x - x.mean(axis=0)
    if x.std() < min_amplitude_rad:
        return None
    power = (np.abs(np.fft.rfft(x * np.hanning(len(x))[:, None], axis=0)) ** 2).mean(axis=1)
    freqs = np.fft.rfftfreq(len(x), dt)
    band = freqs >= min_cycles / (len(x) * dt)
    if not band.any():
        return None
    k = int(np.argmax(np.where(band, power, 0.0)))
    if power[k] < min_peak_ratio * power[band].mean():
        return None
    if 0 < k < len(power) - 1 and 0 < min(power[k - 1], power[k + 1]) and power[k] >= max(power[k - 1], power[k + 1]):
        a, b, c = np.log(power[k - 1:k + 2])
        denom = a - 2 * b + c
        shift = float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5)) if denom < 0 else 0.0
        return float(freqs[k] + shift * (freqs[1] - freqs[0]))
    return float(freqs[k])


def xcorr_lag_s(t_s, anterior, posterior, max_lag_s):
    """Signed lag (s) of ``posterior`` behind ``anterior`` maximising their normalised cross-correlation.

    Searched over |lag| <= ``max_lag_s`` in whole samples, refined by a parabola through the peak.
    Returns None if either signal is constant.
    """
    dt = _dt(t_s)
    a = np.asarray(anterior, dtype=np.float64) - np.mean(anterior)
    p = np.asarray(posterior, dtype=np.float64) - np.mean(posterior)
    if a.std() == 0 or p.std() == 0:
        return None
    m = max(1, min(int(max_lag_s / dt), len(a) // 2))
    lags = np.arange(-m, m + 1)
    corr = np.array([np.dot(a[:len(a) - s], p[s:]) / (len(a) - s) if s >= 0 else
                     np.dot(a[-s:], p[:len(p) + s]) / (len(a) + s) for s in lags])
    i = int(np.argmax(corr))
    shift = 0.0
    if 0 < i < len(corr) - 1:
        denom = corr[i - 1] - 2 * corr[i] + corr[i + 1]
        if denom < 0:
            shift = 0.5 * (corr[i - 1] - corr[i + 1]) / denom
    return float((lags[i] + shift) * dt)


def _quarter_joints(n_joints):
    # joint k (1-based) sits at k / (n_joints + 1) of the body
    return max(0, round((n_joints + 1) / 4) - 1), min(n_joints - 1, round(3 * (n_joints + 1) / 4) - 1)


def wave_lag_s(t_s, joint_rad, frequency_Hz=None):
    """Lag (s) of the joint at 3/4 of the body behind the joint at 1/4 (forward wave > 0).

    Summed over neighbouring joint pairs, each cross-correlated within half a wave period
    (``frequency_Hz``, default :func:`wave_frequency_Hz`): a wave with more than half a wavelength between
    the two joints would alias in a single cross-correlation. None when there is no wave.
    """
    x = np.asarray(joint_rad, dtype=np.float64)
    f = frequency_Hz if frequency_Hz is not None else wave_frequency_Hz(t_s, x)
    if not f:
        return None
    i, j = _quarter_joints(x.shape[1])
    lags = [xcorr_lag_s(t_s, x[:, k], x[:, k + 1], 0.5 / f) for k in range(i, j)]
    return None if None in lags else float(sum(lags))


def wavelength_L(joint_rad, frequency_Hz, dt_s, joint_pos_L):
    """Wavelength in body lengths from the phase gradient along the body at ``frequency_Hz``.

    Positive for a head-to-tail wave (phase falls towards the tail), negative for tail-to-head, inf for
    a standing wave, None without a frequency or without motion. The phase line is fitted with each joint
    weighted by its amplitude at ``frequency_Hz`` (joints that barely move carry noise, not phase).
    """
    if not frequency_Hz:
        return None
    x = np.asarray(joint_rad, dtype=np.float64)
    x = x - x.mean(axis=0)
    t = np.arange(len(x)) * dt_s
    phasor = np.exp(-2j * np.pi * frequency_Hz * t) @ x
    phase = np.unwrap(np.angle(phasor))
    weight = np.abs(phasor)      # a joint that barely moves at this frequency has no phase to speak of
    if not weight.any():
        return None
    slope = np.polyfit(np.asarray(joint_pos_L, dtype=np.float64), phase, 1, w=weight)[0]   # rad per body length
    return float(-2 * np.pi / slope) if slope != 0 else float("inf")


def dorsoventral_alternation(joint_rad, min_amplitude_rad=0.02):
    """Mean over joints of min(dorsal, ventral excursion) / max(dorsal, ventral excursion), in [0, 1].

    Excursions are the 95th percentile (dorsal, > 0) and minus the 5th percentile (ventral) of each joint's
    angle, floored at 0; a joint whose larger excursion is under ``min_amplitude_rad`` scores 0.
    """
    x = np.asarray(joint_rad, dtype=np.float64)
    dorsal = np.maximum(np.percentile(x, 95, axis=0), 0.0)
    ventral = np.maximum(-np.percentile(x, 5, axis=0), 0.0)
    big = np.maximum(dorsal, ventral)
    score = np.where(big >= min_amplitude_rad, np.minimum(dorsal, ventral) / np.maximum(big, 1e-12), 0.0)
    return float(score.mean())


def joint_positions_L(n_joints):
    """Position of each joint along the body, fraction of body length from the head: k / (n_joints + 1)."""
    return np.arange(1, n_joints + 1) / (n_joints + 1)


def curvature_L(joint_rad):
    """Curvature x body length at each joint (dimensionless, + dorsal): (n_joints + 1) x joint angle.

    Parameters
    ----------
    joint_rad : float64[k, n_joints]
        Joint angles (rad) of a chain of n_joints + 1 equal segments.
    """
    x = np.asarray(joint_rad, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"joint angles: expected shape (samples, joints), got {x.shape}")
    return x * (x.shape[1] + 1)


def curvature_amplitude_L(joint_rad):
    """Peak |curvature x body length| at each joint: the 95th percentile over time, float64[n_joints]."""
    return np.percentile(np.abs(curvature_L(joint_rad)), 95, axis=0)


def bending_fraction(amplitude_L, threshold_L=4.0):
    """Fraction of the body length whose peak |kappa L| (``amplitude_L``, one value per joint, each standing for
    1 / n_joints of the body) is at least ``threshold_L``."""
    a = np.asarray(amplitude_L, dtype=np.float64)
    return float(np.mean(a >= threshold_L)) if a.size else 0.0


def shape_metrics(t_s, joint_rad, motor_mV=None):
    """The body's wave and the motor neurons' range from joint angles alone (no trajectory needed).

    Parameters
    ----------
    t_s : float64[k]
    joint_rad : float64[k, n_joints]
    motor_mV : float64[k', n_motor], optional
        Motor-neuron soma voltages over the same stretch.

    Returns
    -------
    dict
        ``wave_hz`` (None without a wave), ``lag_s``, ``wavelength_L``, ``alternation``, ``amplitude_rad`` (mean
        over joints of the angle's standard deviation), ``curvature_amplitude_L`` (mean over joints of the peak
        |kappa L|), ``curvature_profile_L`` (peak |kappa L| per joint, head first), ``bending_fraction`` (of the
        body with peak |kappa L| >= 4), ``v_min_mV`` / ``v_max_mV`` (extremes of every motor neuron's soma
        voltage; None without voltages).
    """
    x = np.asarray(joint_rad, dtype=np.float64)
    f = wave_frequency_Hz(t_s, x)
    profile = curvature_amplitude_L(x)
    motor = np.asarray(motor_mV if motor_mV is not None else (), dtype=np.float64)
    return {
        "wave_hz": f,
        "lag_s": wave_lag_s(t_s, x, f),
        "wavelength_L": wavelength_L(x, f, _dt(t_s), joint_positions_L(x.shape[1])),
        "alternation": dorsoventral_alternation(x),
        "amplitude_rad": float(x.std(axis=0).mean()),
        "curvature_amplitude_L": float(profile.mean()),
        "curvature_profile_L": [round(float(v), 3) for v in profile],
        "bending_fraction": bending_fraction(profile),
        "v_min_mV": float(motor.min()) if motor.size else None,
        "v_max_mV": float(motor.max()) if motor.size else None,
    }


def gait_metrics(trace, start_s=0.0):
    """Metrics of a LoopTrace after ``start_s`` (s of its own time axis).

    Returns
    -------
    dict
        ``speed_L_per_s``, ``duration_s`` and every key of :func:`shape_metrics`.
    """
    keep = trace.t_s >= trace.t_s[0] + start_s - 1e-9
    t = trace.t_s[keep]
    return {
        "speed_L_per_s": axial_speed_L_per_s(t, trace.head_xy_m[keep], trace.com_xy_m[keep], trace.body_length_m),
        **shape_metrics(t, trace.joint_rad[keep], trace.motor_mV[keep]),
        "duration_s": float(t[-1] - t[0] + _dt(t)),
    }


def plot_gait(trace, path, start_s=0.0, title="", zoom_s=2.0):
    """Write a PNG: kymograph of joint angles (time x joint, head at the top), the same over the last
    ``zoom_s`` seconds (where the slope of the stripes shows the wave's direction) and the head trajectory."""
    from matplotlib.figure import Figure   # no pyplot: the caller's backend is left alone

    keep = trace.t_s >= trace.t_s[0] + start_s - 1e-9
    t, x, head = trace.t_s[keep], trace.joint_rad[keep], trace.head_xy_m[keep] / trace.body_length_m
    fig = Figure(figsize=(15, 4))
    ax1, ax3, ax2 = fig.subplots(1, 3, gridspec_kw={"width_ratios": [2, 1.2, 1]})
    lim = max(float(np.abs(x).max()), 1e-3)
    last = t >= t[-1] - zoom_s
    for ax, tt, xx, label in ((ax1, t, x, "joint angle (rad, + dorsal)"),
                              (ax3, t[last], x[last], f"last {zoom_s:g} s")):
        im = ax.imshow(xx.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, origin="upper",
                       extent=(tt[0], tt[-1], xx.shape[1] + 0.5, 0.5))
        ax.set_xlabel("time (s)")
        ax.set_ylabel("joint (1 = head)")
        ax.set_title(label)
    fig.colorbar(im, ax=ax3)
    ax2.plot(head[:, 0], head[:, 1], lw=1)
    ax2.plot(head[0, 0], head[0, 1], "go", label="start")
    ax2.plot(head[-1, 0], head[-1, 1], "rs", label="end")
    ax2.set_aspect("equal", adjustable="datalim")
    ax2.set_xlabel("x (body lengths)")
    ax2.set_ylabel("y (body lengths)")
    ax2.set_title("head trajectory")
    ax2.legend(loc="best", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_curvature_kymographs(traces, path, start_s=0.0, window_s=4.0):
    """Write a PNG: for each ``{label: LoopTrace}``, the kymograph of curvature x body length over the last
    ``window_s`` seconds after ``start_s`` (time across, body position from head 0 to tail 1 down), one
    shared colour scale, side by side."""
    from matplotlib.figure import Figure

    panels = []
    for label, trace in traces.items():
        keep = trace.t_s >= max(trace.t_s[0] + start_s, trace.t_s[-1] - window_s) - 1e-9
        panels.append((label, trace.t_s[keep], curvature_L(trace.joint_rad[keep])))
    lim = max(max(float(np.abs(k).max()) for _l, _t, k in panels), 1e-3)
    fig = Figure(figsize=(4.5 * len(panels) + 1, 4))
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    for ax, (label, t, k) in zip(axes, panels):
        pos = joint_positions_L(k.shape[1])
        half = 0.5 / (k.shape[1] + 1)
        im = ax.imshow(k.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, origin="upper",
                       extent=(t[0], t[-1], pos[-1] + half, pos[0] - half))
        ax.set_xlabel("time (s)")
        ax.set_title(label)
    axes[0].set_ylabel("position along the body (L, 0 = head)")
    fig.colorbar(im, ax=list(axes), label="curvature x body length (+ dorsal)")
    fig.savefig(path, dpi=100)
    return path
