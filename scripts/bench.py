"""Benchmark behind `make bench`: synth against an empty CDK app, the API functions' cold import against a bare
`import boto3`, and the streaming route against its model stream, each measured in one run.

Figures are ratios against a baseline measured in the same run on the same machine, so they compare
across machines; the absolute seconds only describe this one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EMPTY_APP = "import aws_cdk as cdk; app = cdk.App(); cdk.Stack(app, 'Empty'); app.synth()"
CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
}


def measure_child(command: list[str]) -> None:
    """Run `command`, then print its wall time and the peak RSS of its largest process (python or node)."""
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"wall": wall, "peak_mib": peak_kib / 1024}))


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak MiB of one run, measured from a fresh process so peaks do not carry over."""
    with tempfile.TemporaryDirectory() as outdir:
        result = subprocess.run(
            [sys.executable, __file__, "--child", "--", *command],
            cwd=ROOT,
            env={**env, "CDK_OUTDIR": outdir},
            check=True,
            capture_output=True,
            text=True,
        )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return figures["wall"], figures["peak_mib"]


def median_of(runs: int, command: list[str], env: dict[str, str]) -> tuple[float, float]:
    samples = [measure(command, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def synth_table(runs: int) -> list[str]:
    context = {**json.loads((ROOT / "cdk.json").read_text())["context"], **CLI_CONTEXT}
    base_env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context)}
    lines = [f"synth, median of {runs} runs       wall s   peak MiB   wall ratio   memory ratio"]
    for label, validation in (("validation on", "true"), ("validation off", "false")):
        env = {**base_env, "CDK_VALIDATION": validation}
        empty = median_of(runs, [sys.executable, "-c", EMPTY_APP], env)
        full = median_of(runs, [sys.executable, "app.py"], env)
        lines.append(f"  empty app ({label:14}) {empty[0]:8.2f} {empty[1]:10.0f}")
        lines.append(
            f"  full app  ({label:14}) {full[0]:8.2f} {full[1]:10.0f} "
            f"{full[0] / empty[0]:11.2f}x {full[1] / empty[1]:13.2f}x"
        )
    return lines


# As in Lambda: the X-Ray SDK sees LAMBDA_TASK_ROOT and leaves sampling to Lambda (no client of its own).
LAMBDA_ENV = {
    "PYTHONPATH": str(ROOT / "lambda"),
    "LAMBDA_TASK_ROOT": str(ROOT / "lambda"),
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "bench",
}
# What each API function imports when its execution environment starts.
API_MODULES = {"api.handler": "import api.handler", "api.stream (uvicorn)": "import uvicorn, api.stream"}


def import_table(runs: int) -> list[str]:
    """Cold import of each API function against a bare `import boto3`, each in a fresh interpreter."""
    env = {**os.environ, **LAMBDA_ENV}

    def seconds(statement: str) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", statement], cwd=ROOT, env=env, check=True)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    baseline = seconds("import boto3")
    lines = [f"cold import, median of {runs} runs   wall s   ratio", f"  {'import boto3':30} {baseline:7.3f}"]
    for label, statement in API_MODULES.items():
        took = seconds(statement)
        lines.append(f"  {label:30} {took:7.3f}   {took / baseline:5.2f}x")
    return lines


def stream_table() -> list[str]:
    """POST /chat/stream in process over a stub model stream (scripts/bench_stream.py)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_stream.py")],
        cwd=ROOT,
        env={**os.environ, **LAMBDA_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    lines = ["streaming, POST /chat/stream in process   first delta byte   response / model stream alone"]
    for line in result.stdout.strip().splitlines():
        figures = json.loads(line)
        pace = f"{figures['chunks']} chunks, one per {figures['interval_ms']:g} ms"
        lines.append(
            f"  {pace:38} {figures['first_byte_ms']:6.2f} ms   {figures['stream_s'] / figures['stub_s']:8.3f}x "
            f"({figures['stream_s']:.2f} s / {figures['stub_s']:.2f} s, median of {figures['runs']})"
        )
    return lines


def make_test_seconds() -> float:
    start = time.perf_counter()
    subprocess.run(["make", "test"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per synth measurement (median is reported)")
    parser.add_argument("--skip-tests", action="store_true", help="do not time `make test`")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure_child(args.command)
        return

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("\n".join(synth_table(args.runs)))
    print("\n".join(import_table(max(args.runs, 5))))
    print("\n".join(stream_table()))
    if not args.skip_tests:
        print(f"make test (set up, warm caches): {make_test_seconds():.1f} s wall")


if __name__ == "__main__":
    main()
