"""Gait metrics on synthetic travelling waves and trajectories with known speed, frequency, lag and wavelength."""
import numpy as np
import pytest

from braingo_core.body.closed_loop import LoopTrace
from braingo_core.body.gait import (axial_speed_L_per_s, bending_fraction, curvature_amplitude_L, curvature_L,
                                    dorsoventral_alternation, gait_metrics, plot_curvature_kymographs, plot_gait,
                                    reversal_time_s, wave_frequency_Hz, wave_lag_s, wavelength_L, xcorr_lag_s)

DT = 0.01
N_JOINTS = 11
X_L = np.arange(1, N_JOINTS + 1) / (N_JOINTS + 1)   # joint k at k/12 of the body


def wave(f_Hz, wavelength, amp=0.4, duration=20.0, offset=0.0):
    """theta_k(t) = amp sin(2 pi (f t - x_k / wavelength)) + offset: head-to-tail for wavelength > 0."""
    t = np.arange(int(round(duration / DT))) * DT
    return t, offset + amp * np.sin(2 * np.pi * (f_Hz * t[:, None] - X_L[None, :] / wavelength))


def straight_crawl(t, speed_m_s, length_m=0.6, angle=0.0, backward=False):
    """Head and centre of mass of a straight body moving along ``angle``; backward: the head trails."""
    u = np.array([np.cos(angle), np.sin(angle)])
    com = (speed_m_s * t)[:, None] * u
    head = com + (-1.0 if backward else 1.0) * 0.5 * length_m * u
    return head, com


@pytest.mark.parametrize("f_Hz", [0.3, 0.5, 1.8])
def test_frequency_of_travelling_wave(f_Hz):
    t, theta = wave(f_Hz, 1.5)
    assert wave_frequency_Hz(t, theta) == pytest.approx(f_Hz, abs=0.01)


def test_no_frequency_without_wave():
    t, theta = wave(0.5, 1.5, amp=0.0, offset=0.3)
    assert wave_frequency_Hz(t, theta) is None
    rng = np.random.default_rng(0)
    assert wave_frequency_Hz(t, 0.2 * rng.standard_normal(theta.shape)) is None


def test_frequency_at_the_band_edge_stays_in_band():
    # A drift slower than the band (2 cycles in the record) leaks into the first in-band bin, whose lower
    # neighbour is larger: the parabola must not move the estimate out of the band or below zero.
    t = np.arange(0.0, 8.0, 0.01)
    theta = np.outer(np.sin(2 * np.pi * 0.1 * t), np.ones(11))
    f = wave_frequency_Hz(t, theta, min_peak_ratio=1.0)
    assert f is not None and 2 / 8.0 - 1 / 8.0 <= f <= 2 / 8.0 + 1 / 8.0


@pytest.mark.parametrize("wavelength", [1.5, -1.5, 1.2, 0.6, -0.8])
def test_lag_and_wavelength_signs(wavelength):
    # 0.6 and -0.8: more than half a wavelength between the two joints (one cross-correlation would alias)
    f = 0.5
    t, theta = wave(f, wavelength)
    # joints 3 and 9 sit at 1/4 and 3/4 of the body: half a body apart
    expected_lag = 0.5 / (wavelength * f)
    assert wave_lag_s(t, theta) == pytest.approx(expected_lag, abs=0.02)
    assert wavelength_L(theta, f, DT, X_L) == pytest.approx(wavelength, rel=0.02)


def test_xcorr_lag_subsample_and_sign():
    t = np.arange(4000) * DT
    a = np.sin(2 * np.pi * 0.4 * t)
    p = np.sin(2 * np.pi * 0.4 * (t - 0.237))
    assert xcorr_lag_s(t, a, p, 1.0) == pytest.approx(0.237, abs=0.005)
    assert xcorr_lag_s(t, p, a, 1.0) == pytest.approx(-0.237, abs=0.005)
    assert xcorr_lag_s(t, a, np.zeros_like(a), 1.0) is None


@pytest.mark.parametrize("angle", [0.0, 2.0])
def test_axial_speed_forward_backward(angle):
    t = np.arange(2000) * DT
    head, com = straight_crawl(t, 0.03, angle=angle)
    assert axial_speed_L_per_s(t, head, com, 0.6) == pytest.approx(0.05)
    head, com = straight_crawl(t, 0.03, angle=angle, backward=True)
    assert axial_speed_L_per_s(t, head, com, 0.6) == pytest.approx(-0.05)


def test_axial_speed_on_a_circle_and_sideways():
    t = np.arange(2000) * DT
    r, omega = 1.0, 0.05
    com = r * np.stack([np.cos(omega * t), np.sin(omega * t)], axis=1)
    tangent = np.stack([-np.sin(omega * t), np.cos(omega * t)], axis=1)
    head = com + 0.3 * tangent
    assert axial_speed_L_per_s(t, head, com, 0.6) == pytest.approx(r * omega / 0.6, rel=1e-3)
    normal = np.stack([np.cos(omega * t), np.sin(omega * t)], axis=1)
    assert abs(axial_speed_L_per_s(t, com + 0.3 * normal, com, 0.6)) < 1e-3


def test_reversal_time():
    t = np.arange(1500) * DT
    v = np.where(t < 5.0, 0.03, np.where(t < 5.5, 0.03 - 0.12 * (t - 5.0), -0.03))
    x = np.concatenate([[0.0], np.cumsum(v[:-1] * DT)])
    com = np.stack([x, np.zeros_like(x)], axis=1)
    head = com + [0.3, 0.0]
    r = reversal_time_s(t, head, com, 0.6, 5.0)
    assert 0.5 < r < 1.5
    assert reversal_time_s(t[:400], head[:400], com[:400], 0.6, 1.0) is None
    creep = com * 0.01    # reverses at 0.0005 L/s: a posture shift, not backward crawling
    assert reversal_time_s(t, creep + [0.3, 0.0], creep, 0.6, 5.0) is None


def test_alternation():
    _t, theta = wave(0.5, 1.5)
    assert dorsoventral_alternation(theta) > 0.95
    _t, one_sided = wave(0.5, 1.5, amp=0.2, offset=0.25)
    assert dorsoventral_alternation(one_sided) == 0.0
    _t, shrunk = wave(0.5, 1.5, amp=0.2, offset=0.1)
    assert 0.1 < dorsoventral_alternation(shrunk) < 0.5
    assert dorsoventral_alternation(np.zeros((100, N_JOINTS))) == 0.0


def test_gait_metrics_and_plot_on_a_trace(tmp_path):
    t, theta = wave(0.5, 1.2, duration=12.0)
    t = t + DT
    head, com = straight_crawl(t, 0.06)
    trace = LoopTrace(t, theta, head, com, np.zeros((len(t), 3)), ("A", "B", "C"),
                      tuple(f"joint_{k:02d}" for k in range(1, 12)), 0.6)
    m = gait_metrics(trace, start_s=2.0)
    assert m["speed_L_per_s"] == pytest.approx(0.1)
    assert m["wave_hz"] == pytest.approx(0.5, abs=0.02)
    assert m["lag_s"] == pytest.approx(0.5 / (1.2 * 0.5), abs=0.03)
    assert m["wavelength_L"] == pytest.approx(1.2, rel=0.03)
    assert m["duration_s"] == pytest.approx(10.0)
    path = plot_gait(trace, tmp_path / "k.png", start_s=2.0, title="synthetic")
    assert path.stat().st_size > 1000


def test_curvature_of_a_circular_arc():
    """A chain of 12 segments with every joint at 2 pi / 12 closes into a circle: kappa L = 2 pi."""
    theta = np.full((5, N_JOINTS), 2 * np.pi / (N_JOINTS + 1))
    np.testing.assert_allclose(curvature_L(theta), 2 * np.pi)
    np.testing.assert_allclose(curvature_amplitude_L(-theta), 2 * np.pi)
    with pytest.raises(ValueError, match="shape"):
        curvature_L(np.zeros(5))


def test_curvature_amplitude_and_bending_fraction_along_a_decaying_wave():
    t, theta = wave(0.5, 0.7, amp=0.5)
    envelope = np.linspace(1.0, 0.2, N_JOINTS)      # bends fade towards the tail
    amplitude = curvature_amplitude_L(theta * envelope)
    expected = 12 * 0.5 * envelope * np.sin(0.45 * np.pi)   # 95th percentile of |sin| = sin(0.45 pi)
    np.testing.assert_allclose(amplitude, expected, rtol=0.01)
    assert bending_fraction(amplitude) == pytest.approx(np.mean(expected >= 4.0))
    assert 0.0 < bending_fraction(amplitude) < 1.0
    assert bending_fraction(amplitude, threshold_L=0.1) == 1.0
    assert bending_fraction(np.zeros(N_JOINTS)) == 0.0


def test_gait_metrics_curvature_and_motor_range(tmp_path):
    t, theta = wave(0.4, 0.6, amp=0.45, duration=8.0)
    t = t + DT
    head, com = straight_crawl(t, 0.06)
    motor = np.stack([-60 + 10 * np.sin(t), -40 + 5 * np.cos(t), np.full(len(t), -50.0)], axis=1)
    motor[0] = [-90.0, 5.0, 0.0]   # before start_s: left out
    trace = LoopTrace(t, theta, head, com, motor, ("A", "B", "C"), tuple(f"joint_{k:02d}" for k in range(1, 12)), 0.6)
    m = gait_metrics(trace, start_s=1.0)
    assert m["curvature_amplitude_L"] == pytest.approx(12 * 0.45 * np.sin(0.45 * np.pi), rel=0.02)
    assert m["bending_fraction"] == 1.0 and len(m["curvature_profile_L"]) == N_JOINTS
    assert -70.0 <= m["v_min_mV"] < -69.0 and -36.0 < m["v_max_mV"] <= -35.0
    swim = LoopTrace(t, 0.2 * theta, head, com, motor, ("A", "B", "C"), trace.joint_names, 0.6)
    assert gait_metrics(swim)["bending_fraction"] == 0.0
    path = plot_curvature_kymographs({"agar": trace, "water": swim}, tmp_path / "kappa.png", start_s=1.0)
    assert path.stat().st_size > 1000


def test_wavelength_ignores_joints_that_do_not_move():
    """Head joints held still (amplitude 1e-4 with a random phase) do not bend the phase line."""
    t, theta = wave(1.0, 0.8)
    rng = np.random.default_rng(1)
    theta[:, :3] = 1e-4 * np.sin(2 * np.pi * t[:, None] + rng.uniform(0, 2 * np.pi, 3))
    assert wavelength_L(theta, 1.0, DT, X_L) == pytest.approx(0.8, rel=0.03)
    assert wavelength_L(np.zeros_like(theta), 1.0, DT, X_L) is None


def test_gait_bench_prints_one_json_line_per_medium(tmp_path, capsys):
    """bench/gait.py (as the README runs it, shortened): one JSON line, every figure of every chosen medium,
    the targets as booleans, both PNGs; an unknown medium is refused with the valid ones."""
    import importlib.util
    import json
    import pathlib

    from braingo_core.errors import BodyError

    path = pathlib.Path(__file__).resolve().parents[1] / "bench" / "gait.py"
    spec = importlib.util.spec_from_file_location("bench_gait", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--settle-s", "0.5", "--measure-s", "1.5", "--media", "water,agar",
                       "--figures", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert list(out["media"]) == ["water", "agar"]   # lightest load first
    for medium in out["media"].values():
        assert {"wave_hz", "wavelength_L", "speed_L_per_s", "curvature_amplitude_L", "bending_fraction",
                "v_min_mV", "v_max_mV"} <= set(medium)
        assert medium["v_min_mV"] < medium["v_max_mV"] and 0.0 <= medium["bending_fraction"] <= 1.0
    assert out["media"]["agar"]["c_n"] > 1000 * out["media"]["water"]["c_n"]
    assert all(isinstance(v, bool) for v in out["targets"].values()) and "agar_bending" in out["targets"]
    assert (tmp_path / "curvature_kymographs.png").stat().st_size > 1000
    assert (tmp_path / "gait_vs_load.png").stat().st_size > 1000
    with pytest.raises(BodyError, match="valid media"):
        bench.main(["--media", "honey"])
