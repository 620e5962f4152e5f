"""statsmodels ETS(A,A,A) heuristic fits on M4 Hourly: series_id,n,sse,alpha,beta,gamma,smape.

beta is reported in ETS form (alpha * smoothing_trend), as prescient-forecast reports it.
Usage: python m4_statsmodels.py DATA_DIR [IDS...] > sm.csv
"""
import sys, warnings
import numpy as np, pandas as pd
from statsmodels.tsa.holtwinters import ExponentialSmoothing

warnings.simplefilter("ignore")
d = sys.argv[1]
ids = sys.argv[2:]
train = pd.read_csv(f"{d}/train.csv")
test = pd.read_csv(f"{d}/test.csv")
order = list(dict.fromkeys(train.series_id))
print("series_id,n,sse,alpha,beta,gamma,smape")
for sid in order:
    if ids and sid not in ids:
        continue
    y = train.loc[train.series_id == sid, "value"].to_numpy(float)
    truth = test.loc[test.series_id == sid, "value"].to_numpy(float)
    res = ExponentialSmoothing(y, trend="add", seasonal="add", seasonal_periods=24,
                               initialization_method="heuristic").fit()
    f = res.forecast(48)
    sm = np.mean(200 * np.abs(truth - f) / (np.abs(truth) + np.abs(f)))
    p = res.params
    a = p["smoothing_level"]
    print(f"{sid},{len(y)},{res.sse:.6e},{a:.6f},{a * p['smoothing_trend']:.6f},"
          f"{p['smoothing_seasonal']:.6f},{sm:.4f}", flush=True)
