"""Fit bench: fit the bundled worm to the cb2022 calcium correlations and score the fitted database.

    python bench/fit.py [--target DIR] [--epochs N] [--holdout-neurons 13] [--seed 0] [--out fitted.braindb]

Scores are Pearson r between simulated and recorded correlations over valid off-diagonal pairs, every
simulated matrix from the Numba engine (model "graded", the database's step) under the fit's protocol,
all in this one run:

* ``r_train``: the fitted database, pairs among the training neurons (those in the loss);
* ``r_heldout``: the fitted database, pairs among the held-out neurons (a seeded 20 % never in the loss);
* ``r_untrained``: the bundled worm as it is, at the crawl's locomotion weight scales (config/caterpillar.yaml);
* ``r_shuffled``: the fitted weights permuted among synapses of the same receptor (sign), gap conductances
  permuted among gap junctions, leak potentials kept;
* ``r_train_twin`` / ``r_heldout_twin``: the same pairs from the twin (step ``sample_ms``) at the fit's end;
* ``r_ava_avb_fitted`` / ``r_ava_avb_untrained`` / ``r_ava_avb_recorded``: the AVAL-AVBL correlation;
* ``n_params``, ``epoch_s`` (mean wall s per epoch), ``fit_s`` (whole fit), ``load_avg`` (1-min load
  average at the end: the machine may be shared), ``torch_threads``.

Prints one JSON line.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

from braingo_core.body.closed_loop import locomotion_settings
from braingo_core.fit import fit, load_target
from braingo_core.fit.protocol import engine_correlation, pair_r
from braingo_core.fit.train import DEFAULT_EPOCHS
from braingo_core.fit.write import rebuild
from braingo_core.loaders.baaiworm import bundled_database
from braingo_core.storage import BrainDB

DEFAULT_TARGET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "baaiworm", "eworm")


def shuffled_db(db, result, path, seed):
    """Write ``result``'s weights permuted among same-receptor synapses (and among gap junctions) to ``path``."""
    from braingo_core.fit.write import write_fitted

    rng = np.random.default_rng(seed)
    tab = result.tables
    syn = result.syn_w_nS.copy()
    for slot in np.unique(tab.syn_slot):
        idx = np.flatnonzero(tab.syn_slot == slot)
        syn[idx] = syn[rng.permutation(idx)]
    gap = result.gap_w_nS[rng.permutation(result.gap_w_nS.size)]
    shuffled = type(result)(**{**result.__dict__, "syn_w_nS": syn, "gap_w_nS": gap})
    return write_fitted(db, path, shuffled)


def _ava_avb(corr, target):
    try:
        return round(float(corr[target.names.index("AVAL"), target.names.index("AVBL")]), 4)
    except ValueError:
        return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", default=DEFAULT_TARGET, help="recording (default ../shared/baaiworm/eworm)")
    ap.add_argument("--db", default=None, help="worm .braindb (default: the bundled one)")
    ap.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    ap.add_argument("--holdout-neurons", type=int, default=None, help="default: 20 %% of the recorded neurons")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="keep the fitted database here")
    ap.add_argument("--plot", default=None, help="write the fit figure here")
    opts = ap.parse_args(argv)
    db = BrainDB(opts.db or bundled_database())
    target = load_target(opts.target, db)
    k = int(round(0.2 * len(target.names))) if opts.holdout_neurons is None else opts.holdout_neurons
    t0 = time.perf_counter()
    result = fit(db, target, epochs=opts.epochs, holdout_neurons=k, seed=opts.seed, progress=sys.stderr.isatty())
    fit_s = time.perf_counter() - t0
    if opts.plot:
        result.plot(opts.plot)
    loco = locomotion_settings()
    scales = {"synapse_weight_scale": loco["synapse_weight_scale"], "gap_weight_scale": loco["gap_weight_scale"]}
    with tempfile.TemporaryDirectory() as tmp:
        out = opts.out or os.path.join(tmp, "fitted.braindb")
        result.write(db, out)
        fitted = engine_correlation(BrainDB(out), target, result.protocol)
        shuf = engine_correlation(BrainDB(shuffled_db(db, result, os.path.join(tmp, "shuffled.braindb"), opts.seed)),
                                  target, result.protocol)
        plain = os.path.join(tmp, "plain.braindb")
        rebuild(db).write(plain)
        untrained = engine_correlation(BrainDB(plain), target, result.protocol, scales)
    train, held = result.pairs("train"), result.pairs("heldout")
    import torch

    print(json.dumps({
        "bench": "fit", "target": target.source, "n_neurons_target": len(target.names),
        "n_heldout": len(result.heldout_neurons), "n_train_pairs": int(train[0].size),
        "n_heldout_pairs": int(held[0].size), "epochs": opts.epochs, "seed": opts.seed,
        "r_train": round(pair_r(fitted, target.corr, train), 4),
        "r_heldout": round(pair_r(fitted, target.corr, held), 4),
        "r_untrained": round(pair_r(untrained, target.corr, train), 4),
        "r_untrained_heldout": round(pair_r(untrained, target.corr, held), 4),
        "r_shuffled": round(pair_r(shuf, target.corr, train), 4),
        "r_train_twin": round(result.r_train, 4), "r_heldout_twin": round(result.r_heldout, 4),
        "loss_first": round(result.loss_history[0], 5) if result.loss_history else None,
        "loss_best": round(min(result.loss_history), 5) if result.loss_history else None,
        "r_ava_avb_fitted": _ava_avb(fitted, target), "r_ava_avb_untrained": _ava_avb(untrained, target),
        "r_ava_avb_recorded": _ava_avb(target.corr, target),
        "n_params": result.n_params, "epoch_s": round(result.epoch_s, 2), "fit_s": round(fit_s, 1),
        "load_avg": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(), "torch_threads": 1,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
