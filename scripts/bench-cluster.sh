#!/bin/bash
# One node vs three nodes of the real binary, cluster mode, with `shopchat bench replies`.
# Needs PostgreSQL and NATS (127.0.0.1:4222); uses a throw-away schema and subject prefix. Build first: make build.
set -u
B=${SHOPCHAT_BIN:-bin/shopchat}
S=benchcl_$(date +%s)
DSN="${SHOPCHAT_TEST_PG_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
pids=()
start() { # name port
  mkdir -p ${TMPDIR:-/tmp}/shopchat-bench-cluster/$1
  SHOPCHAT_DATA_DIR=${TMPDIR:-/tmp}/shopchat-bench-cluster/$1 SHOPCHAT_CLUSTER_POSTGRES_DSN="$DSN" SHOPCHAT_CLUSTER_SCHEMA=$S SHOPCHAT_CLUSTER_PREFIX=$S$3 \
   SHOPCHAT_CLUSTER_NODE_NAME=$1 SHOPCHAT_CHAT_SECRET=0123456789abcdef0123 SHOPCHAT_LOG_LEVEL=warn \
   timeout 120 $B serve --addr 127.0.0.1:$2 --ip-rate -1 --max-conns-per-ip -1 > ${TMPDIR:-/tmp}/shopchat-bench-cluster/$1.log 2>&1 &
  pids+=($!)
}
rm -rf ${TMPDIR:-/tmp}/shopchat-bench-cluster; mkdir -p ${TMPDIR:-/tmp}/shopchat-bench-cluster
echo "== one node"
start one 18181 a; sleep 6
timeout 60 $B bench replies --url ws://127.0.0.1:18181/ws --conns 150 --rate 600 --duration 15s 2>&1 | tail -12
kill ${pids[@]}; wait 2>/dev/null; pids=()
echo "== three nodes"
start n1 18191 b; sleep 4; start n2 18192 b; start n3 18193 b; sleep 6
for p in 18191 18192 18193; do timeout 60 $B bench replies --url ws://127.0.0.1:$p/ws --conns 50 --rate 200 --duration 15s > ${TMPDIR:-/tmp}/shopchat-bench-cluster/bench_$p.txt 2>&1 & done
wait $(jobs -p | tail -3) 2>/dev/null
sleep 1
for p in 18191 18192 18193; do echo "-- node $p"; tail -12 ${TMPDIR:-/tmp}/shopchat-bench-cluster/bench_$p.txt; done
kill ${pids[@]} 2>/dev/null; wait 2>/dev/null
psql "$DSN" -qc "DROP SCHEMA IF EXISTS $S CASCADE"
