"""Dump statsmodels' STL decomposition of the peer's series (seed 3 + n), with statsmodels'
defaults (sm_*) and with the parameters equal to stlrs' defaults (sm_fast_*), and time the latter
(median of 3) for the fast-path comparison. Prints one JSON line."""
import os, sys
# The shared peers folder, beside the repository (../shared/peers from its root).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared/peers"))
OUT = os.environ.get("STL_PEER_OUT", "/tmp/stl_peer")
os.makedirs(OUT, exist_ok=True)
import _common  # noqa: F401
import json, time
import numpy as np
from stl_zscore import make_series
from statsmodels.tsa.seasonal import STL

P = 24
# stlrs defaults for period 24: ns = 25 (deg 0), nt = 39, nl = 25 (deg 1), jumps ceil(len/10).
FAST = dict(seasonal=25, seasonal_deg=0, trend=39, trend_deg=1, low_pass=25, low_pass_deg=1,
            seasonal_jump=3, trend_jump=4, low_pass_jump=3)
out = {"script": "stl_fast_params_statsmodels", "params": FAST, "runs": []}
STL(make_series(500, 0)[0], period=P, **FAST).fit()
for n in [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "1000,10000,100000").split(",")]:
    y, idx = make_series(n, 3 + n)
    for robust in (False, True):
        tag = "robust" if robust else "plain"
        res = STL(y, period=P, robust=robust).fit()
        np.savetxt(f"{OUT}/sm_{tag}_{n}.txt",
                   np.column_stack([res.seasonal, res.trend, res.resid]), fmt="%.17g")
        ts = []
        for _ in range(3):
            t0 = time.perf_counter()
            # stlrs' robust defaults: 1 inner loop, 15 outer; plain: 2 inner.
            fit = STL(y, period=P, robust=robust, **FAST).fit(
                inner_iter=1 if robust else 2, outer_iter=15 if robust else 0)
            ts.append(time.perf_counter() - t0)
        np.savetxt(f"{OUT}/sm_fast_{tag}_{n}.txt",
                   np.column_stack([fit.seasonal, fit.trend, fit.resid]), fmt="%.17g")
        out["runs"].append({"n": n, "robust": robust, "stl_fast_params_s_median": round(sorted(ts)[1], 5)})
print(json.dumps(out))
