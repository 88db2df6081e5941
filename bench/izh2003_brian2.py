"""Brian2 peer of bench/sim.py's "izh2003" network (examples/izhikevich_2003.py, net.m's scheme); prints one
JSON line with ``run_s`` (the loop only, Brian2's _last_run_time) and ``n_spikes``.

Usage: izh2003_brian2.py DB THALAMIC_NPY [--device runtime|cpp_standalone] [--threads N]
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DV = "0.04*v**2 + 5*v + 140 - u + I"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("thalamic")
    ap.add_argument("--device", default="runtime", choices=["runtime", "cpp_standalone"])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    from brian2 import (NeuronGroup, Network, SpikeMonitor, Synapses, TimedArray, defaultclock, device, ms, prefs,
                        set_device)
    from braingo_core.sim.network import build_network
    from braingo_core.storage import BrainDB

    net = build_network(BrainDB(args.db))
    thalamic = np.load(args.thalamic)
    build_dir = tempfile.mkdtemp()
    if args.device == "cpp_standalone":
        set_device("cpp_standalone", directory=build_dir)
        prefs.devices.cpp_standalone.openmp_threads = args.threads if args.threads > 1 else 0
    prefs.logging.console_log_level = "ERROR"
    defaultclock.dt = 1 * ms
    i_thal = TimedArray(thalamic, dt=1 * ms)
    G = NeuronGroup(net.n_neurons, "a : 1\nb : 1\nc : 1\nd : 1\nv : 1\nu : 1\nI : 1\nIs : 1",
                    threshold="v >= 30", reset="v = c\nu += d")
    G.a, G.b, G.c, G.d = (net.params[:, k] for k in range(4))
    G.v = -65.0
    G.u = net.params[:, 1] * -65.0
    G.run_regularly(f"I = i_thal(t, i) + Is\nv += 0.5*({DV})\nv += 0.5*({DV})\nu += a*(b*v - u)\nIs = 0",
                    when="groups")
    S = Synapses(G, G, "w : 1", on_pre="Is_post += w")
    S.connect(i=np.repeat(np.arange(net.n_neurons), np.diff(net.row_ptr)), j=np.asarray(net.syn_node, np.int64))
    S.w = net.syn_w
    mon = SpikeMonitor(G)
    Network(G, S, mon).run(len(thalamic) * ms, namespace={"i_thal": i_thal})
    print(json.dumps({"run_s": round(device._last_run_time, 4), "n_spikes": int(mon.num_spikes)}))


if __name__ == "__main__":
    main()
