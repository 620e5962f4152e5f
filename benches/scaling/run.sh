#!/usr/bin/env bash
# The scaling benchmark of docs/BENCHMARKS.md: every trace in ../shared/data/traces plus NAB's
# ELB request counts, at start-up delays 60, 120 and 300 s, every policy and the HPA frontier.
# Usage: benches/scaling/run.sh OUT_DIR   (from the repository root; needs ../shared/data)
set -euo pipefail
out=${1:?usage: run.sh OUT_DIR}
data=${PRESCIENT_SHARED:-../shared}/data
mkdir -p "$out"
cargo build --release -q -p prescient-cli
bin=target/release/prescient
traces=("$data"/traces/nasa_requests_per_minute.csv "$data"/traces/crane-dsp/input*.csv
        "$data"/nab/data/realAWSCloudwatch/elb_request_count_8c0756.csv)
for delay in 60 120 300; do
  for t in "${traces[@]}"; do
    name=$(basename "$t" .csv)
    "$bin" simulate --trace "$t" --startup-delay "$delay" --frontier \
      --json "$out/$name-$delay.json" > "$out/$name-$delay.txt"
  done
done
python3 "$(dirname "$0")/summarise.py" "$out"
