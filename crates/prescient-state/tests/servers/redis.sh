#!/usr/bin/env bash
# Starts a private Redis server (Debian's `redis-server`) for prescient-state's Redis tests:
#   tests/servers/redis.sh DIR [PORT]
# listens on 127.0.0.1:PORT (16379 by default) only, keeps nothing on disk (no RDB snapshots, no
# append-only file), waits until it answers PING and prints its URL. The server runs in the
# background; its pid is in DIR/redis.pid and its log in DIR/redis.log. Stop it with
# `kill "$(cat DIR/redis.pid)"`. Then run the tests with
# `PRESCIENT_REDIS_URL=<printed URL> cargo test -p prescient-state --features redis -- --include-ignored`.
set -euo pipefail
dir="$1"
port="${2:-16379}"
command -v redis-server >/dev/null || {
    echo "redis.sh: redis-server is not installed (apt-get install redis-server)" >&2
    exit 1
}
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
# Not --daemonize: the pid written here is the server's own, which `kill` stops.
redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
    --save "" --appendonly no --dir "$dir" --logfile "$dir/redis.log" \
    >/dev/null 2>&1 &
echo $! > "$dir/redis.pid"

ping() {
    if command -v redis-cli >/dev/null; then
        [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]
    else
        # No client: PING through bash's /dev/tcp.
        exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 1
        printf 'PING\r\n' >&3
        local answer=""
        read -r -t 1 answer <&3 || true
        exec 3<&-
        [ "${answer%$'\r'}" = "+PONG" ]
    fi
}

for _ in $(seq 1 100); do
    if ping; then
        echo "redis://127.0.0.1:$port/"
        exit 0
    fi
    if ! kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
        echo "redis.sh: redis-server exited; its log:" >&2
        tail -20 "$dir/redis.log" >&2 || true
        exit 1
    fi
    sleep 0.1
done
echo "redis.sh: redis-server did not answer PING on 127.0.0.1:$port within 10 s; its log:" >&2
tail -20 "$dir/redis.log" >&2 || true
exit 1
