#!/usr/bin/env python3
"""Python Prophet's own prediction intervals on M4 Hourly, for the coverage comparison in
crates/prescient-forecast/README.md.

Fits Prophet(daily_seasonality=True, weekly_seasonality=True, yearly_seasonality=False,
interval_width=LEVEL, uncertainty_samples=1000) -- the peer harness's settings with Prophet's
default simulated intervals -- on each series (hourly timestamps from 2000-01-01 00:00), writes
series_id,h,value,lower,upper and prints the coverage of the test values and the time.

    $PY benches/peers/m4_prophet_intervals.py --out /tmp/py_intervals.csv [--limit N] [--level 0.95]
"""
import argparse
import json
import logging
import os
import time

import numpy as np
import pandas as pd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default="../shared/data/m4-hourly")
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--level", type=float, default=0.95)
    ap.add_argument("--horizon", type=int, default=48)
    args = ap.parse_args()
    for name in ("cmdstanpy", "prophet"):
        lg = logging.getLogger(name)
        lg.addHandler(logging.NullHandler())
        lg.setLevel(logging.ERROR)
        lg.propagate = False
    from prophet import Prophet

    tr = pd.read_csv(os.path.join(args.data_dir, "train.csv"))
    te = pd.read_csv(os.path.join(args.data_dir, "test.csv"))
    ids = list(dict.fromkeys(tr["series_id"].astype(str)))
    if args.limit:
        ids = ids[: args.limit]
    h = args.horizon
    rows, covered, total = [], 0, 0
    t0, c0 = time.perf_counter(), time.process_time()
    for sid in ids:
        y = tr[tr["series_id"] == sid].sort_values("t")["value"].to_numpy(dtype=float)
        truth = te[te["series_id"] == sid].sort_values("h")["value"].to_numpy(dtype=float)[:h]
        ds = pd.date_range("2000-01-01 00:00:00", periods=len(y) + h, freq="h")
        m = Prophet(daily_seasonality=True, weekly_seasonality=True, yearly_seasonality=False,
                    interval_width=args.level, uncertainty_samples=1000)
        m.fit(pd.DataFrame({"ds": ds[: len(y)], "y": y}))
        p = m.predict(pd.DataFrame({"ds": ds[len(y):]}))
        lo, up = p["yhat_lower"].to_numpy(), p["yhat_upper"].to_numpy()
        covered += int(np.sum((lo <= truth) & (truth <= up)))
        total += len(truth)
        rows += [(sid, j + 1, float(v), float(a), float(b))
                 for j, (v, a, b) in enumerate(zip(p["yhat"], lo, up))]
    pd.DataFrame(rows, columns=["series_id", "h", "value", "lower", "upper"]).to_csv(
        args.out, index=False, float_format="%.6f")
    print(json.dumps({"n_series": len(ids), "level": args.level, "coverage": covered / total,
                      "covered": covered, "total": total,
                      "wall_s": round(time.perf_counter() - t0, 2),
                      "cpu_s": round(time.process_time() - c0, 2)}))


if __name__ == "__main__":
    main()
