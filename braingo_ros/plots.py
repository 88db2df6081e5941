"""PNG figures of a closed-loop run: motor-neuron voltage heat map, muscle activations, head trajectory."""
import os

from matplotlib.figure import Figure   # no pyplot: no global backend is chosen or changed


def _heatmap(path, data, period_s, title, colour_label, row_labels=None, cmap="viridis", vmin=None, vmax=None):
    fig = Figure(figsize=(10, 6), constrained_layout=True)
    ax = fig.subplots()
    extent = (0.0, len(data) * period_s, data.shape[1] - 0.5, -0.5)
    image = ax.imshow(data.T, aspect="auto", interpolation="nearest", extent=extent, cmap=cmap, vmin=vmin, vmax=vmax)
    fig.colorbar(image, ax=ax, label=colour_label)
    if row_labels is not None and len(row_labels) == data.shape[1]:
        step = max(1, len(row_labels) // 40)
        ax.set_yticks(range(0, len(row_labels), step), [row_labels[i] for i in range(0, len(row_labels), step)],
                      fontsize=6)
    ax.set_xlabel("time (s)")
    ax.set_title(title)
    fig.savefig(path, dpi=110)
    return path


def write_plots(run, out_dir, control_period_s, motor_names=None, muscle_names=None):
    """Write ``motor_voltages.png``, ``muscle_activation.png`` and ``head_trajectory.png``.

    Parameters
    ----------
    run : braingo_ros.analysis.RunSeries
    out_dir : str
        Existing folder.
    control_period_s : float
        Time between rows of the per-period series (s).
    motor_names, muscle_names : list of str, optional
        Row labels.

    Returns
    -------
    list of str
        Paths written (a figure without data is skipped).
    """
    written = []
    if run.motor_mV.size:
        written.append(_heatmap(os.path.join(out_dir, "motor_voltages.png"), run.motor_mV, control_period_s,
                                "motor-neuron soma voltage", "mV", motor_names, cmap="coolwarm"))
    if run.activation.size:
        written.append(_heatmap(os.path.join(out_dir, "muscle_activation.png"), run.activation, control_period_s,
                                "body-wall muscle activation", "activation (0..1)", muscle_names, vmin=0.0, vmax=1.0))
    if len(run.head_xy_m):
        fig = Figure(figsize=(6, 6), constrained_layout=True)
        ax = fig.subplots()
        ax.plot(run.head_xy_m[:, 0], run.head_xy_m[:, 1], lw=1.0)
        ax.plot(*run.head_xy_m[0], "go", label="start")
        ax.plot(*run.head_xy_m[-1], "rs", label="end")
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        ax.set_title("head trajectory")
        ax.legend()
        path = os.path.join(out_dir, "head_trajectory.png")
        fig.savefig(path, dpi=110)
        written.append(path)
    return written
