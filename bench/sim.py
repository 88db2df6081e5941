"""Engine benchmark against Brian2 on the shared peer networks; prints one JSON line.

Usage: bench/sim.py [--networks coba,lif100k,izh2003] [--no-brian2] [--no-cpp] [--threads 2] [--duration-ms MS]
                    [--threading-layer omp|workqueue|tbb]

The networks come from ../shared/bench/make_networks.py (byte-reproducible), run into a temp dir,
loaded through the bulk builder. braingo runs in a child process (so its peak RSS is its own), with a
1-tick warm-up (``compile_s``: JIT compile or cache load), reset, then the timed loop (``braingo_s``).
``--threading-layer`` sets NUMBA_THREADING_LAYER for that child only (numba's default otherwise); the
layer used is reported as ``threading_layer``.
Brian2 runs through ../shared/bench/run_brian2.py in the same invocation (``brian2_runtime_s``,
``brian2_cpp_s`` = cpp_standalone with ``--threads``; loop times only).
Network "izh2003" is examples/izhikevich_2003.py (net.m: 1000 Izhikevich cells, 1e6 delta synapses, the
stored thalamic input consumed in the kernel, 1000 ticks of 1 ms); its Brian2 peer is bench/izh2003_brian2.py
(same scheme and input), and ``spikes_match`` says whether both spike counts agree; ``braingo_1thread_s`` is
the serial loop (at W = 1 tick per window a 1000-neuron network gains nothing from threads).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER = os.path.join(os.path.dirname(ROOT), "shared", "bench")
sys.path.insert(0, ROOT)


def build_db(npz, path):
    """Write the network ``npz`` as a .braindb; returns (config, initial state) for the simulation."""
    from braingo_core.storage import BrainDBBuilder

    n = {k: v for k, v in np.load(npz).items()}
    b = BrainDBBuilder(dt_ms=float(n["dt_ms"]))
    pre, post, w, d = n["pre"], n["post"], n["weight"].astype(np.float64), n["delay_ms"].astype(np.float64)
    if str(n["model"]) == "lif_cond_exp":
        t = b.add_neuron_type("lif", "lif", {"v_reset_mV": float(n["V_reset_mV"]), "v_th_mV": float(n["V_th_mV"]),
                                             "t_ref_ms": float(n["t_ref_ms"])})
        ex = b.add_receptor("exc", "conductance", e_rev_mV=float(n["E_ex_mV"]), tau_decay_ms=float(n["tau_syn_ex_ms"]))
        inh = b.add_receptor("inh", "conductance", e_rev_mV=float(n["E_in_mV"]), tau_decay_ms=float(n["tau_syn_in_ms"]))
        b.add_neurons(int(n["N"]), t, cm_pF=float(n["C_m_pF"]), g_leak_nS=float(n["g_L_nS"]),
                      e_leak_mV=float(n["E_L_mV"]))
        b.add_synapses(pre, post, np.abs(w), d, receptor=np.where(w > 0, ex, inh))
        cfg, init = {}, {"v_mV": n["v0"], "synapses": {"exc": n["g_ex0"], "inh": n["g_in0"]}}
    else:
        t = b.add_neuron_type("lif", "lif", {"v_reset_mV": float(n["V_reset_mV"]), "v_th_mV": float(n["V_th_mV"]),
                                             "t_ref_ms": float(n["t_ref_ms"])})
        syn = b.add_receptor("syn", "current", tau_decay_ms=float(n["tau_syn_ms"]))
        b.add_neurons(int(n["N"]), t, cm_pF=float(n["C_m_pF"]), g_leak_nS=float(n["C_m_pF"]) / float(n["tau_m_ms"]),
                      e_leak_mV=float(n["E_L_mV"]))
        b.add_synapses(pre, post, w, d, receptor=syn)
        cfg = {"poisson": {"n": int(n["ext_n"]), "rate_Hz": float(n["ext_rate_hz"]),
                           "weight": float(n["ext_weight_pA"]), "receptor": "syn"}}
        init = {"v_mV": n["v0"]}
    b.write(path)
    return cfg, init


def worker(db_path, init_npz, cfg_json, duration_ms):
    """Child process: simulate and print timings, spikes and peak RSS as JSON."""
    from braingo_core.sim import Simulation

    cfg = json.loads(cfg_json)
    t0 = time.perf_counter()
    sim = Simulation(db_path, cfg)
    init = dict(np.load(init_npz))
    syn = {k[4:]: v for k, v in init.items() if k.startswith("syn_")}
    sim.set_initial_state(v_mV=init["v_mV"], synapses=syn)
    setup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim.run(1)
    compile_s = time.perf_counter() - t0
    sim.reset()
    t0 = time.perf_counter()
    sim.run_ms(duration_ms)
    run_s = time.perf_counter() - t0
    layer = None
    if sim._eng.parallel:
        import numba

        layer = numba.threading_layer()
    net = sim._eng.net
    syn_bytes = net.syn_node.nbytes + net.syn_w.nbytes + net.syn_delay.nbytes + net.syn_slot.nbytes
    print(json.dumps({"braingo_s": round(run_s, 3), "compile_s": round(compile_s, 3), "setup_s": round(setup_s, 3),
                      "spikes_braingo": sim.n_spikes, "parallel": sim._eng.parallel,
                      "threading_layer": layer, "fast_path": sim._eng.fast,
                      "bytes_per_synapse": round(syn_bytes / max(net.syn_w.size, 1), 2),
                      "peak_rss_mib": peak_rss_mib()}))


def peak_rss_mib():
    """This process's peak RSS (VmHWM: unlike ru_maxrss it does not inherit the parent's peak across fork+exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def izh_worker(db_path, thalamic_npy, threads):
    """Child process: the izh2003 network with its stored input; prints timings and spikes as JSON."""
    from braingo_core.sim import Simulation

    thalamic = np.load(thalamic_npy)
    sim = Simulation(db_path, {"threads": threads})
    sim.set_input_array(thalamic)
    t0 = time.perf_counter()
    sim.run(1)
    compile_s = time.perf_counter() - t0
    sim.reset()
    t0 = time.perf_counter()
    sim.run(len(thalamic))
    run_s = time.perf_counter() - t0
    print(json.dumps({"braingo_s": round(run_s, 4), "compile_s": round(compile_s, 3), "spikes_braingo": sim.n_spikes,
                      "parallel": sim._eng.parallel, "peak_rss_mib": peak_rss_mib()}))


def bench_izh2003(tmp, args, env):
    """The izh2003 entry: braingo (child) and Brian2 runtime / cpp_standalone on the same file and input."""
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    from izhikevich_2003 import build

    t0 = time.perf_counter()
    db, thalamic = build(os.path.join(tmp, "izh2003.braindb"))
    entry = {"build_db_s": round(time.perf_counter() - t0, 3)}
    npy = os.path.join(tmp, "izh2003_thalamic.npy")
    np.save(npy, thalamic)
    wenv = dict(env, NUMBA_NUM_THREADS=str(max(args.threads, 1)))
    entry.update(run_json([sys.executable, os.path.abspath(__file__), "--izh-worker", db, npy, str(args.threads)],
                          wenv))
    serial = run_json([sys.executable, os.path.abspath(__file__), "--izh-worker", db, npy, "1"], wenv)
    entry["braingo_1thread_s"] = serial.get("braingo_s", serial.get("error"))
    peers = [] if args.no_brian2 else [("brian2_runtime", [])]
    if not args.no_cpp:
        peers.append(("brian2_cpp", ["--device", "cpp_standalone", "--threads", str(args.threads)]))
    for key, extra in peers:
        r = run_json([sys.executable, os.path.join(HERE, "izh2003_brian2.py"), db, npy] + extra, env)
        entry[key + "_s"] = r.get("run_s", r.get("error"))
        entry["spikes_brian2"] = r.get("n_spikes", entry.get("spikes_brian2"))
    entry["spikes_match"] = entry.get("spikes_brian2") == entry.get("spikes_braingo")
    return entry


def run_json(cmd, env=None, cwd=None):
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not lines:
        return {"error": (out.stderr or out.stdout).strip().splitlines()[-1:] or ["failed"]}
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", default="coba,lif100k,izh2003")
    ap.add_argument("--no-brian2", action="store_true", help="skip the Brian2 runtime peer")
    ap.add_argument("--no-cpp", action="store_true", help="skip the Brian2 cpp_standalone peer")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--duration-ms", type=float, default=None, help="braingo run length (default: network's)")
    ap.add_argument("--threading-layer", default=None, help="NUMBA_THREADING_LAYER for the braingo child")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--izh-worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.worker[2], float(args.worker[3]))
        return
    if args.izh_worker:
        izh_worker(args.izh_worker[0], args.izh_worker[1], int(args.izh_worker[2]))
        return
    result = {"bench": "sim"}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PEERNETS=tmp)
        for name in args.networks.split(","):
            if name == "izh2003":
                result[name] = bench_izh2003(tmp, args, env)
                continue
            subprocess.run([sys.executable, os.path.join(PEER, "make_networks.py"), "--out", tmp, "--only", name],
                           check=True, capture_output=True)
            npz = os.path.join(tmp, name + ".npz")
            t0 = time.perf_counter()
            cfg, init = build_db(npz, os.path.join(tmp, name + ".braindb"))
            entry = {"build_db_s": round(time.perf_counter() - t0, 3)}
            cfg["threads"] = args.threads
            init_path = os.path.join(tmp, name + "_init.npz")
            np.savez(init_path, v_mV=init["v_mV"], **{"syn_" + k: v for k, v in init.get("synapses", {}).items()})
            dur = args.duration_ms or float(np.load(npz)["t_sim_ms"])
            wenv = dict(env, NUMBA_NUM_THREADS=str(max(args.threads, 1)))
            if args.threading_layer:
                wenv["NUMBA_THREADING_LAYER"] = args.threading_layer
            entry.update(run_json([sys.executable, os.path.abspath(__file__), "--worker",
                                   os.path.join(tmp, name + ".braindb"), init_path, json.dumps(cfg), str(dur)], wenv))
            peers = [] if args.no_brian2 else [("brian2_runtime", [])]
            if not args.no_cpp:
                peers.append(("brian2_cpp", ["--device", "cpp_standalone", "--threads", str(args.threads)]))
            for key, extra in peers:
                r = run_json([sys.executable, "run_brian2.py", name] + extra, env, cwd=PEER)
                entry[key + "_s"] = r.get("run_s", r.get("error"))
                entry["spikes_brian2"] = r.get("n_spikes", entry.get("spikes_brian2"))
            result[name] = entry
    print(json.dumps(result))


if __name__ == "__main__":
    main()
