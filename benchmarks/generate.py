"""Seeded, realistic service-user extracts of any size, for the benchmarks.

The columns and codes follow examples/make_example.py (a case-management system's own
codes, with blanks, "Not Known" and a few invalid values), but rows are drawn with numpy
and written with pyarrow's CSV writer in chunks, so 10 million rows take well under a
minute and memory stays flat. Files are cached in benchmarks/data/ (gitignored) and
rebuilt only when missing.

    python benchmarks/generate.py 1000000                # -> benchmarks/data/extract_1000000.csv
    python benchmarks/generate.py 10000000 --parquet
    python benchmarks/generate.py --audit 200 5000000    # -> benchmarks/data/audit_200x5000000/
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE.parent / "examples"))

from make_example import (  # noqa: E402  (the example's code tables, reused)
    AGE_WEIGHTS,
    CARER,
    DISABILITY,
    ETHNICITY,
    GENDER,
    GENDER_SAME,
    MARITAL,
    ORIENTATION,
    RELIGION,
)

#: The mapping that goes with these extracts (same columns as the example).
MAPPING = HERE.parent / "examples" / "mh_support_mapping.yaml"
AS_OF = dt.date(2026, 3, 31)
CHUNK = 1_000_000
COLUMNS = {  # column -> code table; the 8 characteristic columns besides date of birth
    "Gender": GENDER,
    "Ethnicity": ETHNICITY,
    "Religion": RELIGION,
    "Sexual Orientation": ORIENTATION,
    "Disability": DISABILITY,
    "Carer": CARER,
    "Marital Status": MARITAL,
    "Gender same as at birth": GENDER_SAME,
}
#: Characteristic column names in file order (what the DuckDB floor counts).
COUNTED = ["Date of Birth", *COLUMNS]


def _choice(rng: np.random.Generator, table: list[tuple[str, float]], n: int) -> pa.Array:
    values = pa.array([v for v, _ in table], type=pa.string())
    weights = np.array([w for _, w in table], dtype=float)
    idx = rng.choice(len(table), size=n, p=weights / weights.sum())
    return pc.take(values, pa.array(idx.astype(np.int32)))


def _dates_of_birth(rng: np.random.Generator, n: int) -> pa.Array:
    starts = np.array(sorted(AGE_WEIGHTS))
    weights = np.array([AGE_WEIGHTS[s] for s in starts], dtype=float)
    start = rng.choice(starts, size=n, p=weights / weights.sum())
    width = np.where(start == 18, 7, 10)
    age = start + (rng.random(n) * width).astype(int)
    days = (age * 365.25).astype(np.int64) + rng.integers(0, 365, n)
    epoch_as_of = (AS_OF - dt.date(1970, 1, 1)).days
    born = pa.array((epoch_as_of - days).astype(np.int32), type=pa.date32())
    text = pc.strftime(born, format="%d/%m/%Y")
    roll = rng.random(n)
    text = pc.if_else(pa.array(roll < 0.02), "", text)
    text = pc.if_else(pa.array((roll >= 0.02) & (roll < 0.0215)), "31/02/1980", text)
    return text


def make_chunk(seed: int, start: int, n: int, prefix: str = "KMH") -> pa.Table:
    """Rows ``start .. start+n`` of the extract made with ``seed`` (IDs are unique)."""
    rng = np.random.default_rng([seed, start])
    ids = pc.utf8_lpad(pa.array(np.arange(start + 1, start + n + 1)).cast(pa.string()), 9, "0")
    ids = pc.binary_join_element_wise(prefix, ids, "")
    cols = {"Client ID": ids, "Date of Birth": _dates_of_birth(rng, n)}
    for name, table in COLUMNS.items():
        cols[name] = _choice(rng, table, n)
    return pa.table(cols)


def write_extract(path: Path, rows: int, seed: int = 2026, prefix: str = "KMH") -> Path:
    """Write (once) a CSV or Parquet extract of ``rows`` rows; return its path."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    chunks = ((s, min(CHUNK, rows - s)) for s in range(0, rows, CHUNK))
    if path.suffix == ".parquet":
        writer = None
        for s, n in chunks:
            t = make_chunk(seed, s, n, prefix)
            writer = writer or pq.ParquetWriter(tmp, t.schema)
            writer.write_table(t, row_group_size=CHUNK)
        assert writer is not None
        writer.close()
    else:
        options = pacsv.WriteOptions(quoting_style="none")
        with pacsv.CSVWriter(tmp, make_chunk(seed, 0, 1).schema, write_options=options) as w:
            for s, n in chunks:
                w.write_table(make_chunk(seed, s, n, prefix))
    tmp.replace(path)
    return path


def extract_path(rows: int, parquet: bool = False) -> Path:
    return DATA / f"extract_{rows}.{'parquet' if parquet else 'csv'}"


def extract(rows: int, parquet: bool = False) -> Path:
    return write_extract(extract_path(rows, parquet), rows)


def audit_folder(files: int, total_rows: int, seed: int = 7) -> Path:
    """A folder of ``files`` extracts (uneven sizes) holding ``total_rows`` rows in all."""
    folder = DATA / f"audit_{files}x{total_rows}"
    done = folder / ".complete"
    if done.exists():
        return folder
    rng = np.random.default_rng(seed)
    share = rng.lognormal(0, 0.8, files)
    sizes = np.maximum(1, np.floor(share / share.sum() * total_rows)).astype(int)
    sizes[0] += total_rows - sizes.sum()
    for i, n in enumerate(sizes):
        write_extract(folder / f"service_{i + 1:03d}.csv", int(n), seed=seed + i, prefix=f"S{i:03d}")
    done.touch()
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=1_000_000)
    parser.add_argument("total", type=int, nargs="?", help="with --audit: rows in all files")
    parser.add_argument("--parquet", action="store_true")
    parser.add_argument("--audit", action="store_true", help="rows = number of files")
    args = parser.parse_args()
    if args.audit:
        print(audit_folder(args.rows, args.total or 5_000_000))
    else:
        print(extract(args.rows, args.parquet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
