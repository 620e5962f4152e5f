"""Summarises `prescient simulate --json` files into the tables of docs/BENCHMARKS.md.

Usage: python3 benches/scaling/summarise.py OUT_DIR  (the folder run.sh wrote)
"""
import glob
import json
import math
import os
import sys


def frontier_cost(p, x):
    """The HPA frontier's cost ratio at unserved demand x, linear in log(unserved)."""
    pts = sorted((p[f"hpa@{u}"]["unserved_pct"], p[f"hpa@{u}"]["cost_ratio"])
                 for u in ("0.5", "0.6", "0.7", "0.8", "0.9"))
    lx = lambda v: math.log(max(v, 1e-4))
    if x <= pts[0][0]:
        (x0, c0), (x1, c1) = pts[0], pts[1]
    elif x >= pts[-1][0]:
        (x0, c0), (x1, c1) = pts[-2], pts[-1]
    else:
        i = max(i for i in range(len(pts)) if pts[i][0] <= x)
        (x0, c0), (x1, c1) = pts[i], pts[i + 1]
    t = (lx(x) - lx(x0)) / (lx(x1) - lx(x0)) if lx(x1) != lx(x0) else 0.0
    return c0 + (c1 - c0) * t


def main(out):
    runs = {}
    for fn in glob.glob(os.path.join(out, "*.json")):
        j = json.load(open(fn))
        runs.setdefault(int(j["startup_delay_s"]), []).append(j)
    for delay in sorted(runs):
        print(f"\n#### Start-up delay {delay} s\n")
        print("| trace | static | HPA@0.7 cost / unserved % / viol. % / flips/d | snaive-HPA@0.8 | "
              "prescient cost / unserved % / viol. % / flips/d | HPA frontier's cost at prescient's unserved | "
              "prescient / frontier | p99 µs |")
        print("|---|---:|---|---|---|---:|---:|---:|")
        ratios = []
        for j in sorted(runs[delay], key=lambda j: j["trace"]):
            p = j["policies"]
            h, s, q = p["hpa"], p["snaive-hpa"], p["prescient"]
            f = frontier_cost(p, q["unserved_pct"])
            ratios.append(q["cost_ratio"] / f)
            print(f"| {j['trace']} | {p['static']['cost_ratio']:.2f} | "
                  f"{h['cost_ratio']:.3f} / {h['unserved_pct']:.3f} / {h['violation_time_pct']:.2f} / {h['flips_per_day']:.0f} | "
                  f"{s['cost_ratio']:.3f} / {s['unserved_pct']:.3f} / {s['violation_time_pct']:.2f} / {s['flips_per_day']:.0f} | "
                  f"{q['cost_ratio']:.3f} / {q['unserved_pct']:.3f} / {q['violation_time_pct']:.2f} / {q['flips_per_day']:.0f} | "
                  f"{f:.3f} | {q['cost_ratio'] / f:.3f} | {q['decision_p99_us']:.1f} |")
        g = math.exp(sum(map(math.log, ratios)) / len(ratios))
        print(f"\nprescient's cost over the HPA frontier's at equal unserved demand: geometric mean {g:.3f}, "
              f"worst {max(ratios):.3f}, best {min(ratios):.3f}.")


if __name__ == "__main__":
    main(sys.argv[1])
