"""Training loop: fit the few parameters of :mod:`~braingo_core.fit.params` to a recorded correlation matrix.

Loss: mean squared difference between simulated and recorded correlations over the training pairs (valid,
off-diagonal, both neurons not held out), simulated by the twin under :class:`~braingo_core.fit.protocol.Protocol`;
exact gradients by the twin's reverse-mode adjoint through every step (:mod:`~braingo_core.fit.adjoint`);
Adam. The recording's held-out neurons
(``holdout_neurons``, a seeded random choice) never enter the loss; their pairs score generalisation.
"""
import logging
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from braingo_core.errors import SimulationError
from braingo_core.fit.adjoint import run_adjoint
from braingo_core.fit.params import MAX_PARAMS, ParamLayout
from braingo_core.fit.protocol import Protocol, pair_r
from braingo_core.fit.tables import GradedTables
from braingo_core.fit.targets import Target, load_target
from braingo_core.fit.twin import DTYPE, GradedTwin
from braingo_core.storage import BrainDB

log = logging.getLogger(__name__)

DEFAULT_EPOCHS = 150
DEFAULT_LR = 0.05
LR_END_FRACTION = 0.1


@dataclass
class FitResult:
    """Outcome of :func:`fit`.

    Attributes
    ----------
    theta : float64[n_params]             fitted parameters (layout: ``layout``)
    syn_w_nS, gap_w_nS, e_leak_mV : float64 arrays
        Fitted per-synapse conductances (database synapse order), per-junction conductances (order of
        ``tables.gap_record``) and per-neuron leak potentials.
    loss_history : list of float          loss per epoch (before that epoch's update, on that epoch's drive)
    sim_corr : float64[r, r]              twin correlation at the fitted parameters
    train_neurons, heldout_neurons : list of str
    r_train, r_heldout : float            Pearson r (twin) over the training / held-out pairs
    n_params : int; epoch_s, fit_s : float (mean wall s per epoch, total)
    """

    target: Target
    tables: GradedTables
    layout: ParamLayout
    protocol: Protocol
    theta: np.ndarray
    syn_w_nS: np.ndarray
    gap_w_nS: np.ndarray
    e_leak_mV: np.ndarray
    loss_history: list
    sim_corr: np.ndarray
    train_neurons: list
    heldout_neurons: list
    r_train: float
    r_heldout: float
    n_params: int
    epoch_s: float
    fit_s: float
    seed: int
    settings: dict = field(default_factory=dict)

    def pairs(self, which):
        """(i, j) of the valid pairs among the training ("train") or held-out ("heldout") neurons."""
        group = self.train_neurons if which == "train" else self.heldout_neurons
        return self.target.valid_pairs([self.target.names.index(n) for n in group])

    def write(self, db, out):
        """Write the fitted database to ``out`` (atomic; provenance in the metadata); returns ``out``."""
        from braingo_core.fit.write import write_fitted

        return write_fitted(db, out, self)

    def plot(self, path):
        from braingo_core.fit.plot import plot_fit

        return plot_fit(self, path)


def split_holdout(target, k, seed):
    """(train row indices, held-out row indices) of ``target``: ``k`` rows drawn with ``seed``."""
    r = len(target.names)
    if not 0 <= k <= r - 2:
        raise SimulationError(f"holdout_neurons {k} must be between 0 and {r - 2} (target has {r} neurons)")
    held = np.sort(np.random.default_rng(seed).choice(r, size=k, replace=False)) if k else np.zeros(0, np.int64)
    train = np.setdiff1d(np.arange(r), held)
    return train, held


def default_scales(db):
    """The database's graded-model weight scales (metadata ``graded_weight_scales``; 1.0 where absent)."""
    d = db.metadata.get("graded_weight_scales") or {}
    return float(d.get("synapse_weight_scale", 1.0)), float(d.get("gap_weight_scale", 1.0))


def fit(db, target, epochs=DEFAULT_EPOCHS, holdout_neurons=0, seed=0, protocol=None, lr=DEFAULT_LR,
        max_params=MAX_PARAMS, progress=True, frame_s=None, threads=1, resample_drive=True):
    """Fit ``db`` (BrainDB or path) to ``target`` (Target or a path for :func:`load_target`).

    Parameters
    ----------
    epochs : int
        Adam steps (each one twin run of the whole protocol, forward and backward).
    holdout_neurons, seed : int
        Recorded neurons kept out of the loss, drawn with ``seed``.
    protocol : Protocol, optional
        Drive, duration, indicator (default ``Protocol()``: 60 s measured).
    lr : float
        Adam learning rate (parameters are log-scales and mV offsets).
    progress : bool
        Show a tqdm bar with the loss.
    resample_drive : bool
        Each epoch draws a new drive (seed ``drive_seed + 1 + epoch``), so the weights fit the statistics,
        not one trajectory; the final scores (``sim_corr``, ``r_*``) use the protocol's own ``drive_seed``,
        never trained on. False: every epoch uses ``drive_seed``.
    threads : int
        Torch intra-op threads while fitting (1: the step's small matrices gain nothing from more).

    Returns
    -------
    FitResult
    """
    saved = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        return _fit(db, target, epochs, holdout_neurons, seed, protocol, lr, max_params, progress, frame_s,
                    resample_drive)
    finally:
        torch.set_num_threads(saved)


def _fit(db, target, epochs, holdout_neurons, seed, protocol, lr, max_params, progress, frame_s, resample_drive):
    db = db if isinstance(db, BrainDB) else BrainDB(db)
    target = target if isinstance(target, Target) else load_target(target, db, frame_s=frame_s)
    if not isinstance(epochs, int) or epochs < 0:
        raise SimulationError(f"epochs must be an integer >= 0, got {epochs!r}")
    protocol = protocol or Protocol()
    tables = GradedTables.from_db(db)
    twin = GradedTwin(tables)
    syn_scale, gap_scale = default_scales(db)
    layout = ParamLayout.build(tables, syn_scale, gap_scale, max_params)
    train, held = split_holdout(target, holdout_neurons, seed)
    ti, tj = target.valid_pairs(train)
    if ti.size < 3:
        raise SimulationError(f"{target.source}: only {ti.size} valid training pairs")
    rec = torch.as_tensor(target.corr, dtype=DTYPE)
    ids = torch.as_tensor(target.ids)
    theta = layout.zeros().requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=lr)
    # the learning rate falls linearly to LR_END_FRACTION of ``lr`` over the epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0 - (1.0 - LR_END_FRACTION) * e / max(epochs, 1))

    def evaluate(drive_seed):
        drive = replace(protocol, drive_seed=drive_seed).drive(tables.n)
        syn, gap, el = layout.weights(theta, tables)
        v = run_adjoint(twin, syn, gap, el, drive, protocol.hold_steps, protocol.sample_ms)
        c = protocol.correlation(v[:, ids], target.frame_s)
        return c, ((c[ti, tj] - rec[ti, tj]) ** 2).mean()

    history = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=epochs, unit="epoch", desc="fit")
    t0 = time.perf_counter()
    for epoch in range(epochs):
        opt.zero_grad()
        _, loss = evaluate(protocol.drive_seed + 1 + epoch if resample_drive else protocol.drive_seed)
        loss.backward()
        val = loss.item()
        history.append(val)
        if not np.isfinite(val) or not torch.isfinite(theta.grad).all():
            raise SimulationError(f"fit diverged at epoch {len(history)}: loss {val}")
        opt.step()
        sched.step()
        if bar is not None:
            bar.set_postfix(loss=f"{val:.4f}")
            bar.update(1)
    fit_s = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    with torch.no_grad():
        c, _ = evaluate(protocol.drive_seed)
        syn, gap, el = layout.weights(theta, tables)
    sim = c.numpy()
    names = target.names
    return FitResult(target, tables, layout, protocol, theta.detach().numpy().copy(), syn.numpy(), gap.numpy(),
                     el.numpy(), history, sim, [names[i] for i in train], [names[i] for i in held],
                     pair_r(sim, target.corr, (ti, tj)), pair_r(sim, target.corr, target.valid_pairs(held)),
                     layout.n_params, fit_s / max(epochs, 1), fit_s, int(seed),
                     {"lr": lr, "lr_end_fraction": LR_END_FRACTION, "epochs": epochs, "max_params": max_params,
                      "syn_scale0": syn_scale, "gap_scale0": gap_scale, "resample_drive": resample_drive})
