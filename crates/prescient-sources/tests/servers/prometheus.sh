#!/usr/bin/env bash
# Starts a private Prometheus (Debian's package) for prescient-sources' server tests:
#   tests/servers/prometheus.sh DIR [PORT]
# loads the known series (the example `known_series`, through promtool) into DIR/tsdb, scrapes
# 127.0.0.1:19464 every second (the live-scrape test serves a page there), listens on
# 127.0.0.1:PORT (19090 by default), waits until it is ready and prints its URL. The server runs
# in the background; its pid is in DIR/prometheus.pid and its log in DIR/prometheus.log.
set -euo pipefail
dir="$1"
port="${2:-19090}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
command -v prometheus >/dev/null && command -v promtool >/dev/null || {
    echo "prometheus.sh: prometheus and promtool are not installed (apt-get install prometheus)" >&2
    exit 1
}
mkdir -p "$dir"
if [ ! -d "$dir/tsdb" ]; then
    cargo run --quiet --release --manifest-path "$root/Cargo.toml" -p prescient-sources \
        --example known_series > "$dir/known.om"
    promtool tsdb create-blocks-from openmetrics "$dir/known.om" "$dir/tsdb" > "$dir/promtool.log"
    rm -f "$dir/known.om"
fi
cat > "$dir/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prescient-live-test
    static_configs:
      - targets: ["127.0.0.1:19464"]
YAML
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
    --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
    > "$dir/prometheus.log" 2>&1 &
echo $! > "$dir/prometheus.pid"
for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
        echo "http://127.0.0.1:$port"
        exit 0
    fi
    sleep 0.5
done
echo "prometheus.sh: Prometheus did not become ready; its log:" >&2
tail -20 "$dir/prometheus.log" >&2
exit 1
