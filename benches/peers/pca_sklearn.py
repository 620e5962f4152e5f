"""scikit-learn's PCA on the rows that `pca_compare --dump` writes, for the comparison with
prescient's exact PCA, linfa-reduction's and a thin SVD through nalgebra.

Reads the CSV (a header, then one row a line), standardises it with StandardScaler and fits
PCA(n_components=k, svd_solver='full') for each k; prints one JSON line with the fit time
(median of --repeats, wall and CPU: StandardScaler + PCA, as prescient's fit standardises too,
and PCA alone) and explained_variance_, explained_variance_ratio_ and components_.

With --compare RUST.json (the JSON line of the `pca_compare` example on the same rows) the line
also holds, per method and k, the largest relative error of the explained variance and of the
ratio against scikit-learn's, and the smallest |cos| between a component and scikit-learn's.

    cargo run --release -p prescient-benches --example pca_compare -- --n 10000 --d 50 \
        --dump /tmp/pca_10000x50.csv > /tmp/pca_10000x50.json
    $PY benches/peers/pca_sklearn.py /tmp/pca_10000x50.csv --k 4,8 --compare /tmp/pca_10000x50.json

Native code is limited to one thread (the shared peers' _common, beside the repository), as the
Rust side runs on one.
"""
import os
import sys

# ../shared/peers from the repository's root: it sets the thread limits before numpy loads.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared/peers"))
import _common  # noqa: E402,F401

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def timed(f, repeats):
    """The last result of f() and the median wall and CPU seconds over the repeats."""
    wall, cpu, out = [], [], None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.thread_time()
        out = f()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.thread_time() - c0)
    return out, statistics.median(wall), statistics.median(cpu)


def fit(x, k):
    z = StandardScaler().fit_transform(x)
    return PCA(n_components=k, svd_solver="full").fit(z)


def compare(ours, ref):
    """Largest relative errors of the variances and ratios, smallest |cos| of the components."""
    ev, evr = np.array(ref["explained_variance"]), np.array(ref["explained_variance_ratio"])
    comp = np.array(ref["components"])
    out = {"method": ours["method"], "k": ours["k"]}
    for name, want in (("explained_variance", ev), ("explained_variance_ratio", evr)):
        got = np.array(ours[name], dtype=float)
        out[f"{name}_max_rel_err"] = float(np.max(np.abs(got - want) / np.abs(want)))
    for name in ("linfa_explained_variance", "linfa_explained_variance_ratio"):
        if name in ours:
            got = np.array(ours[name], dtype=float)
            want = ev if name.endswith("variance") else evr
            out[f"{name}_max_rel_err"] = float(np.max(np.abs(got - want) / np.abs(want)))
            out[f"{name}_sum"] = float(np.sum(got))
    c = np.array(ours["components"])
    cos = np.abs(np.sum(c * comp, axis=1)) / (
        np.linalg.norm(c, axis=1) * np.linalg.norm(comp, axis=1)
    )
    out["min_abs_cos"] = float(np.min(cos))
    out["max_one_minus_abs_cos"] = float(np.max(1.0 - cos))
    out["fit_s_median"] = ours["fit_s_median"]
    out["fit_cpu_s_median"] = ours["fit_cpu_s_median"]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv")
    p.add_argument("--k", default="4,8", help="comma-separated numbers of components")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--compare", help="the JSON line of the pca_compare example")
    a = p.parse_args()
    x = np.loadtxt(a.csv, delimiter=",", skiprows=1)
    n, d = x.shape
    z = StandardScaler().fit_transform(x)
    fits = []
    for k in (int(s) for s in a.k.split(",")):
        pca, wall, cpu = timed(lambda: fit(x, k), a.repeats)
        _, pca_wall, pca_cpu = timed(
            lambda: PCA(n_components=k, svd_solver="full").fit(z), a.repeats
        )
        fits.append({
            "k": k,
            "fit_s_median": wall,
            "fit_cpu_s_median": cpu,
            "pca_only_s_median": pca_wall,
            "pca_only_cpu_s_median": pca_cpu,
            "explained_variance": pca.explained_variance_.tolist(),
            "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
            "components": pca.components_.tolist(),
        })
    out = {"script": "pca_sklearn", "sklearn": sklearn.__version__, "numpy": np.__version__,
           "n": n, "d": d, "repeats": a.repeats, "fits": fits}
    if a.compare:
        with open(a.compare) as f:
            ours = json.load(f)
        if (ours["n"], ours["d"]) != (n, d):
            sys.exit(f"{a.compare} is for {ours['n']} x {ours['d']}, the CSV is {n} x {d}")
        by_k = {f["k"]: f for f in fits}
        out["compare"] = [compare(o, by_k[o["k"]]) for o in ours["fits"] if o["k"] in by_k]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
