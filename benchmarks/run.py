"""Run the benchmarks: ``python -m benchmarks.run [NAME ...] [--json OUT]``.

Every module ``benchmarks/bench_<name>.py`` exposes ``run() -> dict`` of figures. Each
result is printed as one JSON object per line: ``{"name", "figures", "seconds",
"machine"}`` (or ``"error"`` instead of ``"figures"`` when the benchmark failed), so runs
can be compared and archived. ``--json OUT`` also writes the list of results to ``OUT``.
The exit status is 1 if any benchmark failed.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
import traceback

import benchmarks


def available() -> list[str]:
    """Names (without the ``bench_`` prefix) of the benchmark modules, sorted."""
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(benchmarks.__path__)
                  if m.name.startswith("bench_"))


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """What the figures depend on: cores, threads, library versions, accelerator."""
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpu": _cpu_model(), "cpu_count": os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):  # the machine is shared: say how busy it was
        info["load_avg_1min"] = round(os.getloadavg()[0], 2)
    versions = {}
    for mod in ("torch", "torchaudio", "torchvision", "cv2", "av", "numpy"):
        try:
            versions[mod] = importlib.import_module(mod).__version__
        except Exception:  # noqa: BLE001 - a missing library is a fact to report
            versions[mod] = None
    info["versions"] = versions
    try:
        import cv2
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cv2_threads"] = cv2.getNumThreads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001
        pass
    return info


def run_one(name: str, machine: dict) -> dict:
    """Import ``bench_<name>`` and call its ``run()``; never raises."""
    t0 = time.perf_counter()
    result = {"name": name}
    try:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        result["figures"] = module.run()
    except Exception as exc:  # noqa: BLE001 - report and go on with the others
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    result["seconds"] = round(time.perf_counter() - t0, 2)
    result["machine"] = machine
    return result


def main(argv: list[str] | None = None) -> int:
    names = available()
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default all: {', '.join(names)})")
    parser.add_argument("--json", metavar="OUT", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    wanted = [n[len("bench_"):] if n.startswith("bench_") else n for n in args.names] or names
    unknown = [n for n in wanted if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}")
    machine = machine_info()
    results = []
    for name in wanted:
        result = run_one(name, machine)
        results.append(result)
        print(json.dumps(result), flush=True)
        if "error" in result:
            print(result["traceback"], file=sys.stderr)
    if args.json:
        from model_core.atomic import write_json

        write_json(args.json, results)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
