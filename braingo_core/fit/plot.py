"""Figure of a fit: recorded vs simulated correlation matrices side by side, and the loss curve."""
import numpy as np

from braingo_core.storage.atomic import atomic_open


def plot_fit(result, path):
    """Write a PNG to ``path`` (atomic): recorded matrix, twin's matrix at the fit, loss per epoch."""
    from matplotlib.figure import Figure         # no pyplot: no global backend is chosen or changed

    t = result.target
    order = np.argsort(np.asarray(t.names))
    rec = t.corr[np.ix_(order, order)]
    sim = np.where(np.isnan(t.corr), np.nan, result.sim_corr)[np.ix_(order, order)]
    fig = Figure(figsize=(16, 5.2))
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 0.9]})
    labels = [t.names[i] for i in order]
    sim_title = f"simulated (r_train {result.r_train:.2f}, r_heldout {result.r_heldout:.2f})"
    for ax, mat, title in ((axes[0], rec, "recorded"), (axes[1], sim, sim_title)):
        im = ax.imshow(mat, vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_title(title)
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=5)
        ax.set_yticks(range(len(labels)), labels, fontsize=5)
    fig.colorbar(im, ax=axes[:2], shrink=0.8, label="Pearson r")
    axes[2].plot(np.arange(1, len(result.loss_history) + 1), result.loss_history, "-o", ms=3)
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("loss (mean squared correlation error)")
    axes[2].set_title("loss")
    with atomic_open(path) as f:
        fig.savefig(f, format="png", dpi=110)
    return path
