#!/usr/bin/python3
"""Debian's torch from Python on a TorchScript file, as TorchServe runs it: `--workers` processes,
each with its own torch.jit.load'ed module and `--threads` intra-op threads, each running batches
of `--batch` back to back under torch.inference_mode(). Prints one JSON line: inferences/s summed
over the workers, and per-run latency percentiles (ms).

    /usr/bin/python3 bench/libtorch/torch_python.py MODEL.pt --batch 8 --workers 2 --threads 1 --duration-s 10
"""
import argparse
import json
import multiprocessing as mp
import os
import time


def worker(args, ready, go, queue):
    import torch  # each worker imports torch itself, as TorchServe's do

    torch.set_num_threads(args.threads)
    model = torch.jit.load(args.model, map_location="cpu")
    model.eval()
    gen = torch.Generator().manual_seed(os.getpid())
    x = torch.rand([args.batch] + args.shape, generator=gen)
    with torch.inference_mode():
        for _ in range(3):  # the profiling executor profiles, then optimizes
            model(x)
        ready.put(os.getpid())
        while not go.is_set():  # keep warm until every worker is ready
            model(x)
        start_at = time.time()
        cpu0 = time.process_time()  # this process, all its threads
        end = start_at + args.duration_s
        lat = []
        while True:
            t0 = time.perf_counter()
            model(x)
            lat.append((time.perf_counter() - t0) * 1000)
            if time.time() >= end:
                break
    seconds = time.time() - start_at
    queue.put({"runs": len(lat), "seconds": seconds, "cpuPct": (time.process_time() - cpu0) / seconds * 100, "latencies": lat,
               "threads": torch.get_num_threads()})


def machine_ticks():
    """Busy and total jiffies of the whole machine (/proc/stat)."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return sum(cpu) - idle, time.time()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--duration-s", type=float, default=10)
    ap.add_argument("--shape", default="3,224,224", help="dims after the batch axis")
    args = ap.parse_args()
    args.shape = [int(d) for d in args.shape.split(",")]
    ctx = mp.get_context("spawn")
    queue, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=worker, args=(args, ready, go, queue)) for _ in range(args.workers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    busy0, t0 = machine_ticks()
    go.set()
    results = [queue.get() for _ in procs]
    busy1, t1 = machine_ticks()
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r["latencies"])
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    import torch
    print(json.dumps({
        "runtime": f"torch {torch.__version__} (Python)",
        "batch": args.batch, "workers": args.workers, "threads": results[0]["threads"],
        "runs": sum(r["runs"] for r in results),
        "inferencesPerS": sum(r["runs"] * args.batch / r["seconds"] for r in results),
        "latencyMs": {"p50": pct(0.5), "p99": pct(0.99)},
        "processCpuPct": sum(r["cpuPct"] for r in results),
        # CPU everything else on the machine used while the workers measured, % of one core
        "otherCpuPct": max(0.0, (busy1 - busy0) / 100 / (t1 - t0) * 100 - sum(r["cpuPct"] for r in results)),
        "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"),
    }))


if __name__ == "__main__":
    main()
