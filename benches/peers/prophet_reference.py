#!/usr/bin/env python3
"""Reference numbers from Python Prophet (cmdstan L-BFGS MAP) for prescient-forecast's Prophet tests.

Fits Prophet(daily_seasonality=True, weekly_seasonality=True, yearly_seasonality=False,
uncertainty_samples=0) -- the settings of ../shared/peers/forecast_m4.py -- on hourly timestamps
from 2000-01-01 00:00 and prints, as JSON, the fitted parameters, Stan's lp__, the same log
posterior recomputed here (constants dropped, no Jacobian, exactly the objective of the Rust
optimiser), and the first forecasts.

    $PY benches/peers/prophet_reference.py                   # the synthetic series of the Rust test
    $PY benches/peers/prophet_reference.py --m4 H1 --m4 H200 # M4 Hourly series from ../shared/data

The synthetic series (n = 480) is a deterministic formula, written the same way in the Rust test
(`crates/prescient-forecast/src/prophet/tests.rs`):

    y[i] = 100 + (0.05 i            if i < 300
                  15 - 0.03 (i - 300) otherwise)
           + 10 sin(2 pi i / 24) + 4 cos(4 pi i / 24) + 6 sin(2 pi i / 168)
           + 3 (((7919 i + 13) mod 1009) / 1009 - 0.5)
"""
import argparse
import json
import logging
import os

import numpy as np
import pandas as pd

START = "2000-01-01 00:00:00"


def synthetic(n=480):
    i = np.arange(n)
    trend = np.where(i < 300, 0.05 * i, 0.05 * 300 - 0.03 * (i - 300))
    return (100 + trend + 10 * np.sin(2 * np.pi * i / 24) + 4 * np.cos(4 * np.pi * i / 24)
            + 6 * np.sin(2 * np.pi * i / 168) + 3 * (((i * 7919 + 13) % 1009) / 1009 - 0.5))


def m4_series(sid, data_dir):
    tr = pd.read_csv(os.path.join(data_dir, "train.csv"))
    g = tr[tr["series_id"] == sid].sort_values("t")
    return g["value"].to_numpy(dtype=float)


def log_posterior(m):
    """Prophet's Stan log density at the fitted parameters, constants dropped, no Jacobian."""
    p = {k: np.ravel(np.asarray(v)) for k, v in m.params.items()}
    h = m.history
    t = h["t"].to_numpy()
    y = h["y_scaled"].to_numpy()
    feats, prior_scales, cols, _ = m.make_all_seasonality_features(h)
    X = feats.to_numpy()
    s_a = cols["additive_terms"].to_numpy()
    s_m = cols["multiplicative_terms"].to_numpy()
    k, mm, sigma = float(p["k"][0]), float(p["m"][0]), float(p["sigma_obs"][0])
    delta, beta = p["delta"], p["beta"]
    cp = np.asarray(m.changepoints_t)
    A = (t[:, None] >= cp[None, :]).astype(float)
    trend = (k + A @ delta) * t + (mm + A @ (-cp * delta))
    mu = trend * (1 + X @ (beta * s_m)) + X @ (beta * s_a)
    sse = float(np.sum((y - mu) ** 2))
    tau = m.changepoint_prior_scale
    lp = (-k * k / 50 - mm * mm / 50 - np.sum(np.abs(delta)) / tau - 2 * sigma * sigma
          - np.sum(beta ** 2 / (2 * np.asarray(prior_scales) ** 2))
          - len(y) * np.log(sigma) - sse / (2 * sigma * sigma))
    return float(lp), sse


def fit(y, horizon):
    from prophet import Prophet

    ds = pd.date_range(START, periods=len(y) + horizon, freq="h")
    m = Prophet(daily_seasonality=True, weekly_seasonality=True, yearly_seasonality=False,
                uncertainty_samples=0)
    m.fit(pd.DataFrame({"ds": ds[: len(y)], "y": y}))
    fc = m.predict(pd.DataFrame({"ds": ds[len(y):]}))["yhat"].to_numpy()
    lp, sse = log_posterior(m)
    p = {k: np.ravel(np.asarray(v)) for k, v in m.params.items()}
    return {
        "n": len(y),
        "y_scale": float(m.y_scale),
        "k": float(p["k"][0]),
        "m": float(p["m"][0]),
        "sigma_obs": float(p["sigma_obs"][0]),
        "delta": [float(d) for d in p["delta"]],
        "stan_lp": float(p["lp__"][0]),
        "lp": lp,
        "sse": sse,
        "yhat": [float(v) for v in fc],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--m4", action="append", default=[], help="M4 series id (repeatable)")
    ap.add_argument("--data-dir", default="../shared/data/m4-hourly")
    ap.add_argument("--horizon", type=int, default=48)
    args = ap.parse_args()
    for name in ("cmdstanpy", "prophet"):
        lg = logging.getLogger(name)
        lg.addHandler(logging.NullHandler())
        lg.setLevel(logging.ERROR)
        lg.propagate = False
    out = {}
    if not args.m4:
        out["synthetic"] = fit(synthetic(), 24)
    for sid in args.m4:
        out[sid] = fit(m4_series(sid, args.data_dir), args.horizon)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
