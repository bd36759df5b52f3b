"""Training throughput of `worldmodel train` with N processes on one machine (docs/scale.md).

Usage:
    python3 docs/reproduce/measure_scale.py --nproc 1 --device cpu
    python3 docs/reproduce/measure_scale.py --nproc 2 --device cpu
    python3 docs/reproduce/measure_scale.py --nproc 1 --device cuda --batch-size 256 --workers 8

Generates a Φ into --data unless one is there, then trains the default model
(--dim 128) for --steps steps: one process as `python3 -m worldmodel train`, more under
`torchrun --standalone --nproc-per-node N` with `--accumulate N`, so each process
builds one micro-batch of --batch-size tasks per step (the global batch grows with N).
Prints the programs (tasks) per second the run reports for its steps (history.json),
the time one epoch of a 1 M-program Φ would take at that rate (extrapolated), and on a
GPU the utilisation `nvidia-smi --query-gpu=utilization.gpu --format=csv` sampled every
half second while training. The last line is the record as JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _gpu_sampler(samples: list[float], stop: threading.Event) -> None:
    while not stop.is_set():
        query = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        done = subprocess.run(query, capture_output=True, text=True)
        if done.returncode == 0:
            samples.extend(float(line) for line in done.stdout.split() if line.strip())
        stop.wait(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nproc", type=int, default=1, help="training processes (default 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--data", default="data/phi-scale", help="Φ folder; generated if missing")
    parser.add_argument("--records", type=int, default=20000, help="records of a generated Φ (default 20000)")
    parser.add_argument("--steps", type=int, default=30, help="steps to train (default 30)")
    parser.add_argument("--batch-size", type=int, default=32, help="tasks per micro-batch (default 32)")
    parser.add_argument("--workers", type=int, default=0, help="data workers per process (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    args = parser.parse_args()

    data = Path(args.data)
    if not (data / "manifest.json").exists():
        subprocess.run([sys.executable, "-m", "worldmodel", "generate", "--count", str(args.records), "--max-length",
                        "5", "--workers", str(os.cpu_count() or 1), "--quiet", "--out", str(data)], check=True)
    out = Path(tempfile.mkdtemp(prefix="measure-scale-"))
    train = ["train", "--data", str(data), "--out", str(out), "--device", args.device, "--batch-size",
             str(args.batch_size), "--accumulate", str(args.nproc), "--max-steps", str(args.steps), "--epochs", "1000",
             "--valid-limit", "16", "--workers", str(args.workers), "--threads", str(args.threads),
             "--checkpoint-every", str(10 * args.steps), "--quiet"]
    if args.nproc == 1:
        command = [sys.executable, "-m", "worldmodel", *train]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(args.nproc),
                   "-m", "worldmodel", *train]
    samples: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_gpu_sampler, args=(samples, stop), daemon=True)
    if args.device.startswith("cuda"):
        sampler.start()
    wall = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
    wall = time.perf_counter() - wall
    stop.set()
    history = json.loads((out / "history.json").read_text())
    # The steps' own rate (the epoch record of the steps run; start-up left out).
    rate = history[-1]["tasks_per_second"]
    record = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.node()}: {os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "command": " ".join(command),
        "nproc": args.nproc,
        "device": args.device,
        "steps": args.steps,
        "global_batch": args.batch_size * args.nproc,
        "programs_per_second": round(rate, 1),
        "wall_seconds_with_startup": round(wall, 1),
        "epoch_1M_hours_extrapolated": round(1e6 / rate / 3600, 2),
    }
    if samples:
        record["gpu_utilisation_percent"] = {"mean": round(statistics.mean(samples), 1),
                                             "median": statistics.median(samples), "samples": len(samples)}
    print(f"{args.nproc} process(es) on {args.device}: {rate:.1f} programs/s; one epoch of 1 M programs "
          f"~{record['epoch_1M_hours_extrapolated']} h (extrapolated)"
          + (f"; GPU utilisation mean {record['gpu_utilisation_percent']['mean']} %" if samples else ""))
    print(json.dumps(record))
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
