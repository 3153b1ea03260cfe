"""Load 1,000,000 request rows from SQLite and from Parquet with lens.load.

    python -m bench.analysis_load [ROWS]

Builds the files once in a temp dir (columns named as REQUEST_FIELDS, SQLite written with
plain sqlite3 like the store), then times lens.load(db=...) through the ADBC driver and
through the sqlite3 fallback, and lens.load(path=...) on Parquet. Wall and CPU seconds
are printed: on the shared box, CPU time is the steadier figure.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lens.analysis import frames
from lens.analysis.frames import conform, load
from lens.record import REQUEST_FIELDS


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for c in REQUEST_FIELDS:
        if c.type == "float":
            data[c.name] = rng.lognormal(5, 0.5, n)
        elif c.type == "int":
            data[c.name] = rng.integers(0, 2000, n)
        elif c.type == "bool":
            data[c.name] = rng.integers(0, 2, n)
        elif c.type == "category":
            data[c.name] = np.array(["a", "b", "c", "d"], dtype=object)[rng.integers(0, 4, n)]
        elif c.type == "timestamp":
            t = pd.Timestamp("2025-06-01") + pd.to_timedelta(np.arange(n), unit="ms")
            data[c.name] = t.strftime("%Y-%m-%d %H:%M:%S.%f")
        else:
            data[c.name] = [f"r{i}" for i in range(n)] if c.name == "request_id" else "x"
    data["run_id"] = "run-1"
    data["status"] = "ok"
    data["error"] = None
    return pd.DataFrame(data)


def main(n: int = 1_000_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        df = synthetic(n)
        db = Path(tmp) / "lens.db"
        con = sqlite3.connect(db)
        cols = list(df.columns)
        con.execute(f"CREATE TABLE requests ({', '.join(repr(c) for c in cols)})")
        con.execute("CREATE TABLE runs (run_id TEXT, tags TEXT)")
        con.executemany(f"INSERT INTO requests VALUES ({','.join('?' * len(cols))})",
                        df.itertuples(index=False, name=None))
        con.commit()
        con.close()
        pq = Path(tmp) / "requests.parquet"
        df.pipe(conform).to_parquet(pq)
        del df
        cases = (("sqlite via ADBC", {"db": db}, True),
                 ("sqlite via sqlite3 (fallback)", {"db": db}, False),
                 ("parquet", {"path": pq}, True))
        for label, kw, adbc in cases:
            frames.USE_ADBC = adbc
            t, c = time.perf_counter(), time.process_time()
            out = load(**kw)
            dt, dc = time.perf_counter() - t, time.process_time() - c
            print(f"load({label}) {len(out):,} rows x {out.shape[1]} cols: {dt:.2f} s wall, "
                  f"{dc:.2f} s CPU", flush=True)
            del out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
