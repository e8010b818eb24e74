#!/usr/bin/env bash
# bench-chat.sh: the chat server's load figures for docs/BENCHMARKS.md (run by `make bench`).
# Starts `shopchat serve --demo` on 127.0.0.1 with the per-IP limits off (every bench client comes
# from 127.0.0.1), runs `shopchat bench` idle, replies and storm against it, and stops it.
set -euo pipefail
bin=${SHOPCHAT_BIN:-bin/shopchat}
addr=${BENCH_ADDR:-127.0.0.1:18181}
data=${BENCH_DATA_DIR:-$(mktemp -d)}
log() { printf 'bench-chat: %s\n' "$*" >&2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$bin" serve --demo --data-dir "$data" --addr "$addr" --ip-rate -1 --max-conns-per-ip -1 --log-level warn &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
# Wait until it listens (the first run trains the demo models: minutes).
host=${addr%:*} port=${addr##*:}
for _ in $(seq 1 1200); do
	(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { log "the server exited"; exit 1; }
	sleep 1
done
url="ws://$addr/ws"
log "idle: 10,000 connections (held past the runtime's periodic GC)"
"$bin" bench idle --url "$url" --conns "${BENCH_IDLE_CONNS:-10000}" --hold "${BENCH_IDLE_HOLD:-130s}"
log "replies: 2,000 messages/s over 500 conversations for 30 s"
"$bin" bench replies --url "$url" --conns "${BENCH_REPLY_CONNS:-500}" --rate "${BENCH_RATE:-2000}" --duration "${BENCH_DURATION:-30s}"
log "storm: 5,000 clients resume at once"
"$bin" bench storm --url "$url" --conns "${BENCH_STORM_CONNS:-5000}"
