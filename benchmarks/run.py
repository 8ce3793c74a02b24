"""Time eqia on large extracts against the floor: DuckDB alone counting the same columns.

Each case runs as a subprocess (the real CLI, as a user runs it), several times; the
best wall time, the CPU time of that run and the peak memory (max RSS of the subprocess)
are reported. The floor is one DuckDB query over the same file counting each
characteristic column in one pass (``GROUP BY GROUPING SETS ((col1), (col2), ...)``),
run the same way (Python and DuckDB start-up included, as for eqia); for the audit, one
query over all the files (each set also grouped by file).

    make bench                        # the full run: 1M and 10M rows, screen, audit,
                                      # start-up, and the false-flag simulation
    python benchmarks/run.py --big    # and 100 million rows (6 GB, deleted afterwards)
    python benchmarks/run.py --quick  # small sizes: a smoke test of the harness
    python benchmarks/run.py --strict # exit 1 if a target is missed
    python benchmarks/run.py --no-simulation  # the timings only

Targets (issue 18, on a 2-core, 24 GB machine):

1. ``eqia profile`` on 10M rows of CSV (with the exact duplicate-ID check) at most 1.2x
   the floor's time;
2. on 10M rows of Parquet at most 0.5 s above the floor;
3. ``eqia audit`` on 200 files holding 5M rows at most 1.5x one DuckDB query over all
   the files;
4. peak memory under 1 GB at 100M rows of CSV (``--big``);
5. ``eqia --help`` under 0.15 s, and ``eqia profile`` on 10 rows under 0.4 s;

and (issue 6) ``eqia screen`` end to end on a 1M-row extract under 10 s; (issue 14,
``false_flags.py``) at most 5% of services identical to their population get any HIGH
rating at n = 300, 3,000 and 30,000, and a 5% group at 0.7 times its share is flagged in
at least 80% of services of 3,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import false_flags  # noqa: E402
import generate  # noqa: E402

BIN = Path(sys.executable).parent
EQIA = [str(BIN / "eqia")] if (BIN / "eqia").exists() else [sys.executable, "-m", "eqia.cli"]
PROPOSAL = ROOT / "examples" / "mh_support_proposal.yaml"

MAX_RATIO = 1.2  # profile, 10M rows of CSV, against the floor
MAX_PARQUET_EXTRA_S = 0.5  # profile, 10M rows of Parquet, above the floor
MAX_AUDIT_RATIO = 1.5  # audit, 200 files, against one query over all files
MAX_PEAK_MIB = 1e9 / 2**20  # 1 GB, at 100M rows
MAX_HELP_S = 0.15
MAX_SMALL_PROFILE_S = 0.4
MAX_SCREEN_S = 10.0

FLOOR = textwrap.dedent("""\
    import sys, duckdb
    path, cols = sys.argv[1], sys.argv[2:]
    q = lambda c: '"' + c.replace('"', '""') + '"'
    src = (f"read_parquet('{path}')" if path.endswith(".parquet")
           else f"read_csv('{path}', all_varchar=true, header=true)")
    sets = ", ".join(f"({q(c)})" for c in cols)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    rows = con.sql(f"SELECT {', '.join(map(q, cols))}, count(*) FROM {src} "
                   f"GROUP BY GROUPING SETS ({sets})").fetchall()
    print(len(rows))
""")

#: The audit's floor: one query over every file of the folder, each set by file too.
AUDIT_FLOOR = textwrap.dedent("""\
    import sys, duckdb
    folder, cols = sys.argv[1], sys.argv[2:]
    q = lambda c: '"' + c.replace('"', '""') + '"'
    sets = ", ".join(f"(filename, {q(c)})" for c in cols)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    rows = con.sql(f"SELECT filename, {', '.join(map(q, cols))}, count(*) FROM "
                   f"read_csv('{folder}/*.csv', all_varchar=true, header=true, "
                   f"filename=true) GROUP BY GROUPING SETS ({sets})").fetchall()
    print(len(rows))
""")

_MEASURE = textwrap.dedent("""\
    import resource, subprocess, sys, time
    start = time.perf_counter()
    done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode:
        sys.stderr.write(done.stderr.decode(errors="replace")); sys.exit(done.returncode)
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{elapsed:.3f} {use.ru_utime + use.ru_stime:.3f} {use.ru_maxrss}")
""")


@dataclass
class Timing:
    seconds: float  # best wall time
    cpu: float  # user + system CPU seconds of the best run
    peak_mb: float  # largest max RSS over the runs, MiB
    ok: bool
    note: str = ""


def timed(cmd: list[str], repeat: int, cwd: Path | None = None) -> Timing:
    """Best wall time over ``repeat`` runs; peak RSS of the biggest run (MiB)."""
    return timed_together([cmd], repeat, cwd)[0]


def timed_together(cmds: list[list[str]], repeat: int, cwd: Path | None = None) -> list[Timing]:
    """``timed`` for several commands, their runs taken in turn (eqia, floor, eqia, ...)
    so that both see the same load on a shared machine."""
    best = [float("inf")] * len(cmds)
    cpu, peak = [0.0] * len(cmds), [0.0] * len(cmds)
    failed: dict[int, Timing] = {}
    for _ in range(repeat):
        for i, cmd in enumerate(cmds):
            if i in failed:
                continue
            # ru_maxrss of RUSAGE_CHILDREN is the largest child so far, so run each case
            # in a fresh wrapper process to read its own peak.
            wrapper = [sys.executable, "-c", _MEASURE, *cmd]
            start = time.perf_counter()
            done = subprocess.run(wrapper, capture_output=True, text=True, cwd=cwd)
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                failed[i] = Timing(elapsed, 0, 0, False, " | ".join(tail))
                continue
            wall, used, kb = done.stdout.strip().splitlines()[-1].split()
            if float(wall) < best[i]:
                best[i], cpu[i] = float(wall), float(used)
            peak[i] = max(peak[i], int(kb) / 1024)
    return [failed.get(i) or Timing(best[i], cpu[i], peak[i], True) for i in range(len(cmds))]


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb
    import pandas
    import pyarrow

    return (f"{os.cpu_count()} cores ({model}), {ram:.0f} GB RAM, {platform.system()}, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
            f"pandas {pandas.__version__}, pyarrow {pyarrow.__version__}")


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


class Report:
    """The results table, and whether every target was met."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.rows: list[str] = []
        self.failed = False

    def add(self, case: str, eqia: Timing, floor: Timing | None, target: str,
            ok: bool | None, result: str | None = None) -> None:
        if self.quick:
            ok, result = None, None  # the targets are for the full sizes
        result = result or verdict(ok)
        if not eqia.ok:
            ok = False if not self.quick else None
            self.rows.append(f"| {case} | failed: {eqia.note} | | | | | | | {target} | "
                             f"{verdict(ok)} |")
        else:
            have = floor is not None and floor.ok
            f_time = f"{floor.seconds:.2f} s" if have else ""
            ratio = f"{eqia.seconds / floor.seconds:.2f}x" if have and floor.seconds else ""
            f_cpu = f"{floor.cpu:.1f} s" if have else ""
            f_peak = f"{floor.peak_mb:,.0f} MiB" if have else ""
            self.rows.append(
                f"| {case} | {eqia.seconds:.2f} s | {f_time} | {ratio} | {eqia.cpu:.1f} s | "
                f"{f_cpu} | {eqia.peak_mb:,.0f} MiB | {f_peak} | {target} | {result} |")
        self.failed |= ok is False
        print(self.rows[-1], flush=True)


HEADER = ("| case | eqia (best wall) | DuckDB floor | ratio | eqia CPU | floor CPU | eqia peak "
          "| floor peak | target | result |\n|---|---|---|---|---|---|---|---|---|---|")


def profile_case(report: Report, rows: int, repeat: int, parquet: bool = False,
                 target: str = "") -> None:
    """``target``: "csv" (ratio), "parquet" (seconds above the floor), "big" (peak)."""
    path = generate.extract(rows, parquet=parquet)
    size = path.stat().st_size / 2**20
    eqia, floor = timed_together([
        [*EQIA, "profile", str(path), "--map", str(generate.MAPPING), "--as-of",
         generate.AS_OF.isoformat(), "--format", "csv"],
        [sys.executable, "-c", FLOOR, str(path), *generate.COUNTED],
    ], repeat)
    case = f"profile {rows:,} rows {'parquet' if parquet else 'csv'} ({size:,.0f} MiB)"
    both = eqia.ok and floor.ok
    if target == "csv":
        report.add(case, eqia, floor, f"1. <= {MAX_RATIO}x floor",
                   both and eqia.seconds <= MAX_RATIO * floor.seconds)
    elif target == "parquet":
        report.add(case, eqia, floor, f"2. <= floor + {MAX_PARQUET_EXTRA_S} s",
                   both and eqia.seconds <= floor.seconds + MAX_PARQUET_EXTRA_S)
    elif target == "big":
        report.add(case, eqia, floor, f"4. peak < 1 GB ({MAX_PEAK_MIB:,.0f} MiB)",
                   eqia.ok and eqia.peak_mb < MAX_PEAK_MIB)
    else:
        report.add(case, eqia, floor, "", None)


def startup_case(report: Report, repeat: int) -> None:
    """``eqia --help``, and ``eqia profile`` on 10 rows, against bare Python."""
    bare = [sys.executable, "-c", "pass"]
    helped, python = timed_together([[*EQIA, "--help"], bare], repeat)
    report.add("eqia --help (floor: Python doing nothing)", helped, python,
               f"5. < {MAX_HELP_S} s", helped.ok and helped.seconds < MAX_HELP_S)
    path = generate.extract(10)
    small, python = timed_together([
        [*EQIA, "profile", str(path), "--map", str(generate.MAPPING), "--as-of",
         generate.AS_OF.isoformat(), "--format", "csv"], bare], repeat)
    report.add("profile 10 rows csv (floor: Python doing nothing)", small, python,
               f"5. < {MAX_SMALL_PROFILE_S} s", small.ok and small.seconds < MAX_SMALL_PROFILE_S)


def screen_proposal(rows: int) -> Path:
    """benchmarks/data/screen_<rows>.yaml: the example proposal, on the big extract."""
    import yaml

    extract = generate.extract(rows)
    spec = yaml.safe_load(PROPOSAL.read_text(encoding="utf-8"))
    data = spec.setdefault("data", {})
    data["extracts"] = [extract.name]  # paths in a proposal are relative to it
    data["mapping"] = os.path.relpath(generate.MAPPING, extract.parent)
    data["area"] = "Kent"
    data["as_of"] = generate.AS_OF
    path = extract.parent / f"screen_{rows}.yaml"
    path.write_text(f"# Written by benchmarks/run.py from {PROPOSAL.name}\n"
                    + yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def screen_case(report: Report, rows: int, repeat: int) -> None:
    proposal = screen_proposal(rows)
    work = Path(tempfile.mkdtemp(prefix="eqia-bench-"))
    try:
        t = timed([*EQIA, "screen", str(proposal), "--out", str(work / "out")], repeat,
                  cwd=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.add(f"screen {rows:,} rows, end to end ({proposal.name})", t, None,
               f"< {MAX_SCREEN_S:.0f} s (issue 6)", t.ok and t.seconds < MAX_SCREEN_S)


def audit_case(report: Report, files: int, total: int, repeat: int) -> None:
    folder = generate.audit_folder(files, total)
    size = sum(f.stat().st_size for f in folder.glob("*.csv")) / 2**20
    eqia, floor = timed_together([
        [*EQIA, "audit", str(folder), "--map", str(generate.MAPPING), "--as-of",
         generate.AS_OF.isoformat(), "--format", "csv"],
        [sys.executable, "-c", AUDIT_FLOOR, str(folder), *generate.COUNTED],
    ], repeat)
    report.add(f"audit {files} files, {total:,} rows ({size:,.0f} MiB)", eqia, floor,
               f"3. <= {MAX_AUDIT_RATIO}x floor", eqia.ok and floor.ok
               and eqia.seconds <= MAX_AUDIT_RATIO * floor.seconds)


def big_case(report: Report, rows: int) -> None:
    """Once: the peak memory at ``rows`` rows; the file is deleted afterwards (disk)."""
    try:
        profile_case(report, rows, 1, target="big")
    finally:
        generate.extract_path(rows).unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--repeat", type=int, default=None, help="runs per case (best kept)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--big", action="store_true",
                        help="also 100 million rows (target 4; about 6 GB, deleted after)")
    parser.add_argument("--no-simulation", action="store_true",
                        help="leave out the false-flag simulation (the timings only)")
    args = parser.parse_args()
    small, big = (20_000, 200_000) if args.quick else (1_000_000, 10_000_000)
    repeat = args.repeat or (1 if args.quick else 3)
    files, total = (20, 100_000) if args.quick else (200, 5_000_000)
    screen_rows = 20_000 if args.quick else 1_000_000

    print(f"eqia benchmarks, {dt.date.today().isoformat()}: {machine()}")
    print(f"best of {repeat} run(s), eqia's and the floor's taken in turn (the audit: best "
          f"of {min(repeat, 2)}); CPU = user + system seconds of that run; peak = max RSS of "
          "the process"
          + ("; --quick: sizes too small to judge the targets" if args.quick else "") + "\n")
    print(HEADER)
    report = Report(args.quick)
    startup_case(report, max(repeat, 5))
    profile_case(report, small, repeat)
    profile_case(report, big, repeat, target="csv")
    profile_case(report, big, repeat, parquet=True, target="parquet")
    audit_case(report, files, total, min(repeat, 2))
    screen_case(report, screen_rows, repeat)
    if args.big:
        big_case(report, 2_000_000 if args.quick else 100_000_000)
    flags_missed = False
    if not args.no_simulation:
        # The simulation shares the machine's cores (at most 2) once the timings are done.
        flags_missed = false_flags.main([
            "--draws", "20" if args.quick else str(false_flags.DRAWS),
            "--jobs", str(min(2, os.cpu_count() or 1)), "--strict"]) != 0
    if not args.quick:
        failed = report.failed or flags_missed
        print("\nAll targets met." if not failed else "\nSome targets were missed.")
        return 1 if args.strict and failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
