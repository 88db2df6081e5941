"""CaterpillarBody: determinism, exact control periods, propulsion by anisotropic drag, stability."""
import dataclasses

import numpy as np
import pytest

from braingo_core.body.description import load_config
from braingo_core.body.physics import CaterpillarBody
from braingo_core.errors import BodyError


@pytest.fixture(scope="module")
def config():
    return load_config()


def travelling_wave(body, seconds, direction=1, freq_Hz=1.0):
    """Open-loop efforts at the limit, one wavelength per body, travelling tail-wards (direction 1)."""
    k = np.arange(1, body.n_joints + 1)
    for _ in range(round(seconds / body.control_period_s)):
        phase = 2 * np.pi * (freq_Hz * body.time_s - direction * k / (body.n_joints + 1))
        body.step_period(body.effort_limit_Nm * np.sin(phase))


def speed_L_per_s(config, direction=1, seconds=6.0):
    body = CaterpillarBody(config)
    travelling_wave(body, 1.0, direction)
    start, t0 = body.center_of_mass(), body.time_s
    travelling_wave(body, seconds, direction)
    return (body.center_of_mass() - start)[:2] / (body.time_s - t0) / body.body_length_m


def test_deterministic_bitwise(config):
    efforts = np.random.default_rng(3).uniform(-1.5, 1.5, (150, config.n_joints))
    runs = []
    for observe, body in ((True, CaterpillarBody(config)), (False, CaterpillarBody(config))):
        for _ in range(2):  # second pass after reset() must repeat the first
            body.reset()
            for e in efforts:
                body.step_period(e)
                if observe:  # reading the state must not change the trajectory
                    body.head_pose(), body.head_twist(), body.contact_forces()
            runs.append((body.data.qpos.tobytes(), body.data.qvel.tobytes(), body.time_s))
    assert all(r == runs[0] for r in runs)


def test_step_period_is_whole_steps(config):
    body = CaterpillarBody(config)
    assert body.steps_per_period * body.timestep_s == pytest.approx(body.control_period_s)
    for _ in range(7):
        body.step_period()
    assert body.time_s == 7 * body.steps_per_period * body.timestep_s
    assert body.data.time == pytest.approx(body.time_s)


def test_travelling_wave_propels_against_its_direction(config):
    forward = speed_L_per_s(config, direction=1)
    backward = speed_L_per_s(config, direction=-1)
    assert forward[0] > 0.2 and abs(forward[1]) < 0.1  # head is +x
    assert backward[0] < -0.2
    isotropic = dataclasses.replace(config, drag_c_t=config.drag_c_n)
    assert abs(speed_L_per_s(isotropic)[0]) < 0.02


def test_stable_at_max_effort(config):
    body = CaterpillarBody(config)
    rng = np.random.default_rng(0)
    for p in range(2000):  # 20 s: bang-bang random signs, constant, and 10x over the limit
        e = rng.choice([-10.0, 10.0], body.n_joints) if p < 1000 else np.full(body.n_joints, 10.0)
        body.step_period(e)
        assert np.abs(body.efforts()).max() <= body.effort_limit_Nm
    q = body.joint_positions()
    assert np.isfinite(body.data.qpos).all() and np.isfinite(body.data.qvel).all()
    assert np.abs(q).max() < config.joint_limit_rad + 0.1
    assert (q > 0.3).all()  # constant positive torque bends every joint positively


def test_positive_effort_bends_towards_dorsal_minus_y(config):
    body = CaterpillarBody(config)
    effort = np.zeros(body.n_joints)
    effort[0] = body.effort_limit_Nm
    for _ in range(50):
        body.step_period(effort)
    assert body.joint_positions()[0] > 0.3
    head, quat = body.head_pose()
    w, z = quat[0], quat[3]
    yaw = 2 * np.arctan2(z, w)
    tail = body.segment_positions()[-1, :2] - head[:2]
    tail_y_in_head_frame = -np.sin(yaw) * tail[0] + np.cos(yaw) * tail[1]
    assert tail_y_in_head_frame < -0.1


def test_bad_efforts(config):
    body = CaterpillarBody(config)
    with pytest.raises(BodyError, match="expected 11"):
        body.set_efforts(np.zeros(3))
    body.set_efforts(np.full(body.n_joints, np.nan))
    assert not body.efforts().any()


def test_head_pose_and_twist(config):
    body = CaterpillarBody(config)
    travelling_wave(body, 1.0)
    pos0, _ = body.head_pose()
    body.step()
    pos1, quat = body.head_pose()
    linear, angular = body.head_twist()
    w, x, y, z = quat
    assert np.linalg.norm(quat) == pytest.approx(1.0)
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    world = np.array([np.cos(yaw) * linear[0] - np.sin(yaw) * linear[1],
                      np.sin(yaw) * linear[0] + np.cos(yaw) * linear[1]])
    np.testing.assert_allclose(world, (pos1 - pos0)[:2] / body.timestep_s, rtol=0.05, atol=1e-3)
    assert angular[:2] == pytest.approx([0, 0], abs=1e-9)


def test_contact_with_obstacle(config):
    # a wall across the path ahead of the head: crawling forward, the head runs into it
    ob = dataclasses.replace(config, obstacles=({"pos_m": [0.12, 0.0], "half_size_m": [0.02, 0.5]},))
    body = CaterpillarBody(ob)
    assert not body.contact_forces().any()
    travelling_wave(body, 3.0)
    force = body.contact_forces()
    assert force.shape == (12,) and force[:2].sum() > 0 and not force[6:].any()


@pytest.mark.parametrize("segments", [6, 20])
def test_mujoco_imports_other_segment_counts(segments):
    import mujoco

    from braingo_core.body.description import render_urdf

    model = mujoco.MjSpec.from_string(render_urdf(segments)).compile()
    assert (model.ngeom, model.njnt) == (segments, segments - 1)
    np.testing.assert_allclose(model.jnt_actfrcrange[:, 1], load_config().effort_limit_Nm)


def test_media_presets_and_load_order(config):
    from braingo_core.body.media import media_by_load, with_medium
    order = media_by_load(config)
    assert order[0] == "water" and order[-1] == "agar" and len(order) >= 5
    assert config.medium == "agar" and (config.drag_c_t, config.drag_c_n) == (2.5, 100.0)
    agar, water = config.media["agar"], config.media["water"]
    assert agar.c_n / agar.c_t == pytest.approx(40.0) and 1.2 < water.c_n / water.c_t < 2.0
    loads = [config.media[k].c_n for k in order]
    assert loads == sorted(loads) and len(set(loads)) == len(loads)
    swum = with_medium(config, "water")
    assert (swum.medium, swum.drag_c_t, swum.drag_c_n) == ("water", water.c_t, water.c_n)
    assert CaterpillarBody(swum)._c_n == pytest.approx(water.c_n * CaterpillarBody(swum).segment_length_m)
    with pytest.raises(BodyError, match="unknown medium 'honey'; valid media: agar, viscous_1000mPas"):
        with_medium(config, "honey")


def test_medium_sets_the_resistance_to_sideways_motion(config):
    """A body sliding sideways at 0.1 m/s coasts in water (drag time mass / (c_n L) ~ 300 s) and stops within
    0.1 s on agar (~ 0.01 s)."""
    from braingo_core.body.media import with_medium
    left = {}
    for name in ("water", "agar"):
        body = CaterpillarBody(with_medium(config, name))
        dof = body.model.joint("root_y").dofadr[0]
        body.data.qvel[dof] = 0.1
        for _ in range(10):
            body.step_period()
        left[name] = body.data.qvel[dof] / 0.1
    assert left["water"] > 0.99 and abs(left["agar"]) < 0.01
