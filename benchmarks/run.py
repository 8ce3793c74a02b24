"""Time eqia on large extracts against the floor: DuckDB alone counting the same columns.

Each case runs as a subprocess (the real CLI, as a user runs it), several times; the
best wall time and the peak memory (max RSS of the subprocess) are reported. The floor
is one DuckDB query over the same file counting each characteristic column in one pass
(``GROUP BY GROUPING SETS ((col1), (col2), ...)``), run the same way.

    make bench                       # 1M and 10M rows, the audit and screen cases
    python benchmarks/run.py --quick # small sizes: a smoke test of the harness

Targets (issue 8, on a 2-core, 24 GB machine): eqia at most 1.5x the floor at 10M rows,
peak memory under 1.5 GB; ``eqia screen`` end to end on 1M rows under 10 s.
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

import generate  # noqa: E402

BIN = Path(sys.executable).parent
EQIA = [str(BIN / "eqia")] if (BIN / "eqia").exists() else [sys.executable, "-m", "eqia.cli"]

#: What ``eqia profile FILE --format csv`` runs, for when the CLI cannot start (another
#: command's module failing to import): the same library calls, minus Typer.
PROFILE_LIBRARY = textwrap.dedent("""\
    import sys, datetime as dt
    from eqia.profile import profile_file
    path, mapping, as_of = sys.argv[1:4]
    profile = profile_file(path, mapping, as_of=dt.date.fromisoformat(as_of))
    sys.stdout.write(profile.tidy().to_csv(index=False, float_format="%.6f"))
""")

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


@dataclass
class Timing:
    seconds: float
    peak_mb: float
    ok: bool
    note: str = ""


def timed(cmd: list[str], repeat: int, cwd: Path | None = None) -> Timing:
    """Best wall time over ``repeat`` runs; peak RSS of the biggest run (MiB)."""
    best, peak = float("inf"), 0.0
    for _ in range(repeat):
        # ru_maxrss of RUSAGE_CHILDREN is the largest child so far, so run each case in
        # a fresh wrapper process to read its own peak.
        wrapper = [sys.executable, "-c", _MEASURE, *cmd]
        start = time.perf_counter()
        done = subprocess.run(wrapper, capture_output=True, text=True, cwd=cwd)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return Timing(elapsed, 0, False, " | ".join(tail))
        child_seconds, child_kb = done.stdout.strip().splitlines()[-1].split()
        best = min(best, float(child_seconds))
        peak = max(peak, int(child_kb) / 1024)
    return Timing(best, peak, True)


_MEASURE = textwrap.dedent("""\
    import resource, subprocess, sys, time
    start = time.perf_counter()
    done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode:
        sys.stderr.write(done.stderr.decode(errors="replace")); sys.exit(done.returncode)
    print(f"{elapsed:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
""")


def command_exists(name: str) -> bool:
    done = subprocess.run([*EQIA, name, "--help"], capture_output=True, text=True)
    return done.returncode == 0


def cli_problem() -> str | None:
    """Why the CLI cannot start (its last error line), or None when it can."""
    done = subprocess.run([*EQIA, "--help"], capture_output=True, text=True)
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or ["unknown error"])[-1]


CLI_WORKS = True


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

    return (f"{os.cpu_count()} cores ({model}), {ram:.0f} GB RAM, Python "
            f"{platform.python_version()}, DuckDB {duckdb.__version__}, {platform.system()}")


def profile_case(rows: int, repeat: int, parquet: bool = False) -> list[str]:
    path = generate.extract(rows, parquet=parquet)
    size = path.stat().st_size / 2**20
    args = [str(path), str(generate.MAPPING), generate.AS_OF.isoformat()]
    via = ""
    if CLI_WORKS:
        eqia = timed([*EQIA, "profile", args[0], "--map", args[1], "--as-of", args[2],
                      "--format", "csv"], repeat)
    else:
        eqia = timed([sys.executable, "-c", PROFILE_LIBRARY, *args], repeat)
        via = " (library†)"
    floor = timed([sys.executable, "-c", FLOOR, str(path), *generate.COUNTED], repeat)
    label = f"{rows:,} rows {'parquet' if parquet else 'csv'} ({size:,.0f} MiB){via}"
    if not eqia.ok:
        return [f"| {label} | failed: {eqia.note} | | | | |"]
    ratio = eqia.seconds / floor.seconds if floor.ok and floor.seconds else float("nan")
    return [f"| {label} | {eqia.seconds:.2f} s | {floor.seconds:.2f} s | {ratio:.2f}x | "
            f"{eqia.peak_mb:,.0f} MiB | {floor.peak_mb:,.0f} MiB |"]


def audit_case(files: int, total: int, repeat: int) -> str:
    if not command_exists("audit"):
        return f"audit ({files} files, {total:,} rows): skipped, `eqia audit` does not exist yet"
    folder = generate.audit_folder(files, total)
    t = timed([*EQIA, "audit", str(folder), "--map", str(generate.MAPPING), "--format", "csv"],
              repeat)
    if not t.ok:
        return f"audit ({files} files, {total:,} rows): failed: {t.note}"
    return (f"audit ({files} files, {total:,} rows): {t.seconds:.2f} s, "
            f"peak {t.peak_mb:,.0f} MiB")


def screen_case(rows: int, repeat: int) -> str:
    if not command_exists("screen"):
        return f"screen ({rows:,} rows): skipped, `eqia screen` does not exist yet"
    proposal = ROOT / "examples" / "mh_support_proposal.yaml"
    if not proposal.exists():
        return "screen: skipped, examples/mh_support_proposal.yaml does not exist yet"
    import yaml

    extract = generate.extract(rows)
    work = Path(tempfile.mkdtemp(prefix="eqia-bench-"))
    try:
        spec = yaml.safe_load(proposal.read_text(encoding="utf-8"))
        _point_at(spec, extract, proposal.parent)
        mine = work / "proposal.yaml"
        mine.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        t = timed([*EQIA, "screen", str(mine), "--out", str(work / "out")], repeat, cwd=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not t.ok:
        return f"screen ({rows:,} rows): failed: {t.note}"
    verdict = "meets" if t.seconds < 10 else "MISSES"
    return (f"screen ({rows:,} rows, end to end): {t.seconds:.2f} s, peak {t.peak_mb:,.0f} MiB "
            f"({verdict} the 10 s target)")


def _point_at(spec: dict, extract: Path, base: Path) -> None:
    """Point the proposal's data at the big extract (other paths made absolute)."""
    data = spec.get("data") or {}
    data["extracts"] = [str(extract)]
    data["mapping"] = str(generate.MAPPING)
    data["as_of"] = generate.AS_OF.isoformat()
    for key, value in list(data.items()):
        if isinstance(value, str) and (base / value).is_file():
            data[key] = str((base / value).resolve())
    spec["data"] = data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--repeat", type=int, default=None, help="runs per case (best kept)")
    args = parser.parse_args()
    sizes = [20_000, 200_000] if args.quick else [1_000_000, 10_000_000]
    repeat = args.repeat or (1 if args.quick else 3)
    audit = (20, 100_000) if args.quick else (200, 5_000_000)
    screen_rows = 20_000 if args.quick else 1_000_000

    global CLI_WORKS
    problem = cli_problem()
    CLI_WORKS = problem is None
    print(f"eqia benchmarks, {dt.date.today().isoformat()}: {machine()}")
    if problem:
        print(f"† the eqia CLI does not start ({problem}); `eqia profile` is timed through the "
              "same library calls instead (no Typer/rich start-up).")
    print(f"best of {repeat} run(s); peak = max RSS of the process\n")
    print("| extract | eqia profile | DuckDB floor | ratio | eqia peak | floor peak |")
    print("|---|---|---|---|---|---|")
    for rows in sizes:
        for line in profile_case(rows, repeat):
            print(line, flush=True)
    for line in profile_case(sizes[-1], repeat, parquet=True):
        print(line, flush=True)
    print()
    print(audit_case(*audit, repeat=1 if args.quick else min(repeat, 2)), flush=True)
    print(screen_case(screen_rows, repeat), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
