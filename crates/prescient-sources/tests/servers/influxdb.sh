#!/usr/bin/env bash
# Starts a private InfluxDB 1.x server (Debian's `influxdb` package) for the integration tests,
# in the background, and prints its URL once `/ping` answers.
#
#   tests/servers/influxdb.sh [DATA_DIR] [PORT]
#
# DATA_DIR (default /tmp/influx-test) gets the config, the meta, data and WAL directories, the
# log (influxd.log) and the pid (influxd.pid); PORT defaults to 8086. Stop it with
# `kill "$(cat DATA_DIR/influxd.pid)"`. Then run the tests with
# `PRESCIENT_INFLUXDB_URL=<printed URL> cargo test -p prescient-sources --features http -- --ignored`.
set -euo pipefail

dir="${1:-/tmp/influx-test}"
port="${2:-8086}"
url="http://127.0.0.1:${port}"

command -v influxd >/dev/null || { echo "influxd not found: apt-get install influxdb" >&2; exit 1; }
mkdir -p "$dir/meta" "$dir/data" "$dir/wal"

# Only HTTP on loopback; the RPC bind address moves with the port so that two servers can run.
cat > "$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$((port + 2))"

[meta]
  dir = "$dir/meta"

[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false

[coordinator]
  max-select-buckets = 0

[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  auth-enabled = false
  log-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false
CONF

nohup influxd -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
echo $! >"$dir/influxd.pid"

for _ in $(seq 1 100); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/ping" || true)" = "204" ]; then
        echo "$url"
        exit 0
    fi
    if ! kill -0 "$(cat "$dir/influxd.pid")" 2>/dev/null; then
        echo "influxd exited; its log:" >&2
        cat "$dir/influxd.log" >&2
        exit 1
    fi
    sleep 0.2
done
echo "influxd did not answer $url/ping within 20 s; its log:" >&2
tail -20 "$dir/influxd.log" >&2
exit 1
