"""MuJoCo physics of the caterpillar: the rendered URDF, joint efforts and resistive-force drag.

API
---
``CaterpillarBody(config=None, urdf=None)``
    ``config``: BodyConfig, a YAML path or None (package default); ``urdf``: URDF text, default
    ``render_urdf(config.segments, "mujoco")``. MuJoCo imports the URDF; the extras (planar root joints
    ``root_x``/``root_y``/``root_yaw`` on the head, joint stiffness, one motor per joint, floor,
    obstacles, timestep and integrator) are added by editing the MjSpec, so the URDF stays plain.
Attributes: ``config``, ``model``, ``data``, ``joint_names``, ``n_joints``, ``effort_limit_Nm``,
``timestep_s``, ``control_period_s``, ``steps_per_period``, ``segment_length_m``, ``body_length_m``.
Methods:

- ``set_efforts(effort_Nm)``: joint torques (N m, float[n_joints], joint order) held until changed;
  NaN -> 0, clipped to the effort limit.
- ``step_period(effort_Nm=None)``: optionally set efforts, then advance exactly ``steps_per_period``
  physics steps (one control period).
- ``step()``: one physics step.
- ``time_s`` (property): simulated time, ``steps * timestep_s`` (no float drift).
- ``joint_positions()`` / ``joint_velocities()``: float64[n_joints], rad and rad/s (copies).
- ``efforts()``: the efforts being applied, float64[n_joints] N m (copy).
- ``head_pose()``: ``(position_m float64[3], quaternion_wxyz float64[4])`` of the head link frame, world.
- ``head_twist()``: ``(linear_m_s float64[3], angular_rad_s float64[3])`` of the head frame, expressed in
  the head frame (the nav_msgs/Odometry twist convention).
- ``segment_positions()``: float64[segments, 3] link-frame origins (anterior end of each segment), m.
- ``center_of_mass()``: float64[3] m.
- ``contact_forces()``: float64[segments] N, magnitude of contact force on each segment from anything
  but the caterpillar itself (obstacles).
- ``reset()``: back to the straight initial pose at rest, time 0.

Drag: for each segment, with v its centre velocity split into v_t along the segment axis and v_n across
it, F = -(c_t v_t + c_n v_n) * l and a yaw torque -c_n l^3/12 * omega (the normal drag of a segment of
length l turning about its centre), applied through ``data.xfrc_applied`` each physics step with the
velocities of that step (mj_step1, drag, mj_step2). Deterministic: the same efforts give bitwise the
same trajectory. The pose, twist, positions and contacts are those of the current state (a lazy
mj_forward after stepping, which leaves the trajectory bitwise unchanged).
"""
import logging

import mujoco
import numpy as np
from numba import njit

from braingo_core.body.description import BodyConfig, check_joints, load_config, render_urdf
from braingo_core.errors import BodyError

log = logging.getLogger(__name__)

_INTEGRATORS = {
    "euler": mujoco.mjtIntegrator.mjINT_EULER,
    "implicit": mujoco.mjtIntegrator.mjINT_IMPLICIT,
    "implicitfast": mujoco.mjtIntegrator.mjINT_IMPLICITFAST,
}
ROOT_JOINTS = ("root_x", "root_y", "root_yaw")


@njit(cache=True)
def resistive_drag(cvel, xipos, xmat, com, first, count, c_t, c_n, c_yaw, xfrc):
    """Write resistive-force drag of bodies first..first+count-1 into xfrc (MuJoCo xfrc_applied rows).

    cvel: float64[nbody, 6] com-based velocity (rot, lin) about ``com``; xipos: float64[nbody, 3] body
    centres; xmat: float64[nbody, 9] frame orientations (row-major, local x = the segment axis);
    com: float64[3]; c_t, c_n: N s/m; c_yaw: N m s.
    """
    for b in range(first, first + count):
        wx, wy, wz = cvel[b, 0], cvel[b, 1], cvel[b, 2]
        rx, ry, rz = xipos[b, 0] - com[0], xipos[b, 1] - com[1], xipos[b, 2] - com[2]
        vx = cvel[b, 3] + wy * rz - wz * ry
        vy = cvel[b, 4] + wz * rx - wx * rz
        vz = cvel[b, 5] + wx * ry - wy * rx
        ax, ay, az = xmat[b, 0], xmat[b, 3], xmat[b, 6]
        vt = vx * ax + vy * ay + vz * az
        xfrc[b, 0] = -(c_t * vt * ax + c_n * (vx - vt * ax))
        xfrc[b, 1] = -(c_t * vt * ay + c_n * (vy - vt * ay))
        xfrc[b, 2] = -(c_t * vt * az + c_n * (vz - vt * az))
        xfrc[b, 3] = 0.0
        xfrc[b, 4] = 0.0
        xfrc[b, 5] = -c_yaw * wz


class CaterpillarBody:
    """The caterpillar in MuJoCo, stepped one control period at a time (see the module docstring)."""

    def __init__(self, config=None, urdf=None):
        self.config = config if isinstance(config, BodyConfig) else load_config(config)
        cfg = self.config
        if urdf is None:
            urdf = render_urdf(cfg.segments, "mujoco")
        check_joints(cfg, urdf)
        self.model = self._build(urdf)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.joint_names = cfg.joints
        self.n_joints = cfg.n_joints
        self.effort_limit_Nm = cfg.effort_limit_Nm
        self.timestep_s = cfg.timestep_s
        self.control_period_s = cfg.control_period_s
        self.steps_per_period = round(cfg.control_period_s / cfg.timestep_s)
        self._qpos = np.array([m.joint(j).qposadr[0] for j in cfg.joints])
        self._qvel = np.array([m.joint(j).dofadr[0] for j in cfg.joints])
        self._act = np.array([m.actuator(f"{j}_motor").id for j in cfg.joints])
        head = m.body(cfg.head_link).id
        bodies = [head] + [m.joint(j).bodyid[0] for j in cfg.joints]
        if bodies != list(range(head, head + cfg.segments)):
            raise BodyError(f"URDF links are not a chain from '{cfg.head_link}' in joint order: body ids {bodies}")
        self._head = head
        self._seg = slice(head, head + cfg.segments)
        self._root = m.body_rootid[head]
        self.segment_length_m = float(np.linalg.norm(m.body_pos[head + 1]))
        self.body_length_m = self.segment_length_m * cfg.segments
        seg_l = self.segment_length_m
        self._c_t = cfg.drag_c_t * seg_l
        self._c_n = cfg.drag_c_n * seg_l
        self._c_yaw = cfg.drag_c_n * seg_l ** 3 / 12.0
        self._own_geoms = np.isin(m.geom_bodyid, np.arange(head, head + cfg.segments))
        self._efforts = np.zeros(self.n_joints)
        self._steps = 0
        self._force6 = np.zeros(6)
        d = self.data  # views into MjData's buffers, which never move
        self._views = (d.cvel, d.xipos, d.xmat, d.subtree_com, d.xfrc_applied)
        self.reset()
        log.info("caterpillar: %d segments, %.3f m long, %d physics steps of %g s per control period",
                 cfg.segments, self.body_length_m, self.steps_per_period, self.timestep_s)

    def _build(self, urdf):
        cfg = self.config
        try:
            spec = mujoco.MjSpec.from_string(urdf)
        except Exception as exc:  # mujoco raises ValueError with the parser message
            raise BodyError(f"MuJoCo cannot load the URDF: {exc}") from exc
        spec.option.timestep = cfg.timestep_s
        spec.option.integrator = _INTEGRATORS[cfg.integrator]
        root = spec.body(cfg.head_link)
        if root is None or root.parent.name != "world":
            raise BodyError(f"{cfg.path}: head_link '{cfg.head_link}' is not the URDF's root link")
        radius = max(g.size[0] for g in spec.geoms if g.type == mujoco.mjtGeom.mjGEOM_CYLINDER)
        root.pos = [0.0, 0.0, radius + cfg.clearance_m]
        for name, kind, axis in zip(ROOT_JOINTS, ("SLIDE", "SLIDE", "HINGE"), ([1, 0, 0], [0, 1, 0], [0, 0, 1])):
            root.add_joint(name=name, type=getattr(mujoco.mjtJoint, f"mjJNT_{kind}"), axis=axis)
        for name in cfg.joints:
            joint = spec.joint(name)
            joint.stiffness = [cfg.joint_stiffness_Nm_per_rad, 0.0, 0.0]  # linear spring (MuJoCo 4: polynomial)
            joint.armature = cfg.armature_kg_m2
            joint.solref_limit = [cfg.limit_timeconst_s, 1.0]
            act = spec.add_actuator(name=f"{name}_motor", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
            act.set_to_motor()
            act.ctrlrange = [-cfg.effort_limit_Nm, cfg.effort_limit_Nm]
            act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05])
        for i, ob in enumerate(cfg.obstacles):
            (x, y), (a, b) = ob["pos_m"], ob["half_size_m"]
            spec.worldbody.add_geom(name=f"obstacle_{i}", type=mujoco.mjtGeom.mjGEOM_BOX,
                                    pos=[x, y, 2 * radius], size=[a, b, 2 * radius])
        try:
            return spec.compile()
        except Exception as exc:
            raise BodyError(f"MuJoCo cannot compile the caterpillar: {exc}") from exc

    @property
    def time_s(self):
        return self._steps * self.timestep_s

    def reset(self):
        """Straight body at rest at the origin, head along +x, efforts zero, time 0."""
        mujoco.mj_resetData(self.model, self.data)
        self._efforts[:] = 0.0
        self.data.ctrl[:] = 0.0
        self._steps = 0
        self._fresh = False
        self._sync()

    def set_efforts(self, effort_Nm):
        """Hold these joint torques (N m, joint order) until changed; NaN -> 0, clipped to the limit."""
        e = np.asarray(effort_Nm, dtype=np.float64)
        if e.shape != (self.n_joints,):
            raise BodyError(f"efforts: expected {self.n_joints} values (joint order), got shape {e.shape}")
        np.clip(np.nan_to_num(e, nan=0.0), -self.effort_limit_Nm, self.effort_limit_Nm, out=self._efforts)
        self.data.ctrl[self._act] = self._efforts

    def step(self):
        """One physics step with resistive-force drag from this step's velocities."""
        m, d = self.model, self.data
        mujoco.mj_step1(m, d)
        self._apply_drag()
        mujoco.mj_step2(m, d)
        self._steps += 1
        self._fresh = False

    def _sync(self):
        """Recompute positions, velocities and contacts of the current state (mj_step leaves them one
        step behind); it does not change the trajectory."""
        if not self._fresh:
            mujoco.mj_forward(self.model, self.data)
            self._fresh = True

    def step_period(self, effort_Nm=None):
        """Set efforts (if given), then advance exactly one control period."""
        if effort_Nm is not None:
            self.set_efforts(effort_Nm)
        for _ in range(self.steps_per_period):
            self.step()

    def _apply_drag(self):
        v = self._views
        resistive_drag(v[0], v[1], v[2], v[3][self._root], self._head, self.config.segments,
                       self._c_t, self._c_n, self._c_yaw, v[4])

    def joint_positions(self):
        """Joint angles, float64[n_joints] rad, joint order (positive = bent towards dorsal)."""
        return self.data.qpos[self._qpos].copy()

    def joint_velocities(self):
        """Joint angular velocities, float64[n_joints] rad/s."""
        return self.data.qvel[self._qvel].copy()

    def efforts(self):
        """Efforts being applied, float64[n_joints] N m."""
        return self._efforts.copy()

    def head_pose(self):
        """Head frame in the world: (position_m float64[3], quaternion_wxyz float64[4])."""
        self._sync()
        return self.data.xpos[self._head].copy(), self.data.xquat[self._head].copy()

    def head_twist(self):
        """Head frame velocity in the head frame: (linear_m_s float64[3], angular_rad_s float64[3])."""
        self._sync()
        d = self.data
        omega, lin = d.cvel[self._head, :3], d.cvel[self._head, 3:]
        v = lin + np.cross(omega, d.xpos[self._head] - d.subtree_com[self._root])
        rot = d.xmat[self._head].reshape(3, 3)
        return rot.T @ v, rot.T @ omega

    def segment_positions(self):
        """Segment frame origins (anterior end of each segment), float64[segments, 3] m, head first."""
        self._sync()
        return self.data.xpos[self._seg].copy()

    def center_of_mass(self):
        """Centre of mass of the whole body, float64[3] m."""
        self._sync()
        return self.data.subtree_com[self._root].copy()

    def contact_forces(self):
        """Contact force magnitude per segment (N) from anything but the caterpillar itself."""
        self._sync()
        m, d = self.model, self.data
        out = np.zeros(self.config.segments)
        for i in range(d.ncon):
            c = d.contact[i]
            own1, own2 = self._own_geoms[c.geom1], self._own_geoms[c.geom2]
            if own1 == own2:
                continue
            mujoco.mj_contactForce(m, d, i, self._force6)
            body = m.geom_bodyid[c.geom1 if own1 else c.geom2]
            out[body - self._head] += np.linalg.norm(self._force6[:3])
        return out
