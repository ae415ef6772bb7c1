"""Time a no-op dry run of this workflow against a trivial two-rule Snakefile, alternating.

    python -m fashion_mnist_study.tools.dag_bench [--repeats 7] WORKDIR [snakemake arguments...]

WORKDIR holds a finished run of the workflow (a dry run there must have nothing to do).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIVIAL_SNAKEFILE = """\
rule all:
    input: "b.txt"

rule b:
    input: "a.txt"
    output: "b.txt"
    shell: "cp {input} {output}"
"""


def dry_run_seconds(workdir: Path, extra: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "all", *extra],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0 or "Nothing to be done" not in result.stdout:
        raise SystemExit(f"the dry run in {workdir} is not a no-op:\n{result.stdout[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="extra snakemake arguments")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as trivial:
        trivial_dir = Path(trivial)
        (trivial_dir / "Snakefile").write_text(TRIVIAL_SNAKEFILE)
        (trivial_dir / "a.txt").write_text("a\n")
        subprocess.run(
            [sys.executable, "-m", "snakemake", "-c1", "-q"],
            cwd=trivial_dir,
            check=True,
            capture_output=True,
        )
        times: dict[str, list[float]] = {"trivial": [], "workflow": []}
        for _ in range(args.repeats):
            times["trivial"].append(dry_run_seconds(trivial_dir, []))
            times["workflow"].append(dry_run_seconds(args.workdir, args.extra))
    for label, values in times.items():
        print(f"{label:<9} median {statistics.median(values):.2f} s, best {min(values):.2f} s")
    ratio = statistics.median(times["workflow"]) / statistics.median(times["trivial"])
    print(f"ratio (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
