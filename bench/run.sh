#!/usr/bin/env bash
# Runs Gregor's benchmark suite on this machine and prints one markdown table.
#
# It builds gregor, starts a fresh single node (data in a temp dir, random ports), measures the
# machine's own limits in the same run (loopback TCP, sequential disk writes with and without
# fdatasync, with the hidden "gregor perf limits"), then runs the scenarios with "gregor perf"
# and prints each figure with its ratio to the limit that bounds it. Figures are indicative:
# on a shared machine they move with the neighbours' load.
#
# BENCH_QUICK=1 runs a tiny version in seconds (bench/bench_test.go runs it so the script
# cannot silently rot). GREGOR=path uses a built binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
  records=1000 consume_records=1000 e2e_records=200 many=50 idle=200
  limits=(--net-mib 32 --disk-mib 8 --sync-writes 4)
else
  records=200000 consume_records=200000 e2e_records=20000 many=1000 idle=10000
  limits=(--net-mib 1024 --disk-mib 512 --sync-writes 64)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gregor-bench.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

gregor=${GREGOR:-}
if [ -z "$gregor" ]; then
  gregor=$work/gregor
  go build -o "$gregor" ./cmd/gregor
fi

# free_port prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
}
port=$(free_port)
cport=$(free_port)
bs=127.0.0.1:$port

# start_node starts gregor serve on the data dir and waits until it answers; it sets pid and
# startup_ms.
start_node() {
  local t0 t1
  t0=$(date +%s%N)
  "$gregor" serve \
    --override "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport" \
    --override "advertised.listeners=PLAINTEXT://127.0.0.1:$port" \
    --override "log.dirs=$work/data" \
    --override "group.initial.rebalance.delay.ms=0" \
    >>"$work/node.log" 2>&1 &
  pid=$!
  local deadline=$((SECONDS + 120))
  until "$gregor" topic list --bootstrap-server "$bs" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      echo "gregor did not start; its log:" >&2
      tail -50 "$work/node.log" >&2
      exit 1
    fi
    sleep 0.05
  done
  t1=$(date +%s%N)
  startup_ms=$(( (t1 - t0) / 1000000 ))
}

stop_node() {
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
}

rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo "n/a"; }

# jget KEY: the number after "KEY": in the JSON on stdin.
jget() { sed -n "s/.*\"$1\": *\([-0-9.eE+]*\).*/\1/p" | head -1; }

# r1 X: X to one decimal.
r1() { awk -v x="$1" 'BEGIN { if (x == "") print "n/a"; else printf "%.1f", x }'; }

# ratio A B: A/B to two decimals, or n/a.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else print "n/a" }'; }

rows=()
row() { rows+=("| $1 | $2 | $3 | $4 |"); }

mkdir -p "$work/data"
"$gregor" perf limits --dir "$work" "${limits[@]}" --format json >"$work/limits.json"
loop=$(jget loopback_mb_per_sec <"$work/limits.json")
disk=$(jget disk_write_mb_per_sec <"$work/limits.json")
sync1m=$(jget disk_write_fdatasync_1mib_mb_per_sec <"$work/limits.json")
sync16k=$(jget disk_write_fdatasync_16kib_mb_per_sec <"$work/limits.json")
row "limit: loopback TCP" "$(r1 "$loop") MB/s" "1.00" "-"
row "limit: disk write, one fdatasync at end" "$(r1 "$disk") MB/s" "1.00" "-"
row "limit: disk write, fdatasync per 1 MiB" "$(r1 "$sync1m") MB/s" "1.00" "-"
row "limit: disk write, fdatasync per 16 KiB" "$(r1 "$sync16k") MB/s" "1.00" "-"

start_node
topic() { "$gregor" topic create --bootstrap-server "$bs" --topic "$1" --partitions "$2" --replication-factor 1 >/dev/null; }
topic bench6 6
topic bench1 1
topic benchmany "$many"

# produce NAME TOPIC PROPS...: one producer-perf-test run of 1 KiB records; records its row.
max_rps=0
produce() {
  local name=$1 topic=$2
  shift 2
  local out mb rps p99
  out=$("$gregor" perf produce --bootstrap-server "$bs" --topic "$topic" --num-records "$records" \
    --record-size 1024 --throughput -1 --format json --producer-props "$@")
  mb=$(jget mb_per_sec <<<"$out")
  rps=$(jget records_per_sec <<<"$out")
  p99=$(jget p99_ms <<<"$out")
  row "$name" "$(r1 "$mb") MB/s, $(printf %.0f "$rps") rec/s, p99 $p99 ms" "$(ratio "$mb" "$(awk -v a="$loop" -v b="$disk" 'BEGIN{print (a<b)?a:b}')")" "min(loopback, disk)"
  if awk -v a="$rps" -v b="$max_rps" 'BEGIN{exit !(a>b)}'; then max_rps=$rps; fi
}
produce "produce 1 KiB, 6 partitions, acks=1, linger 5 ms, none" bench6 acks=1 linger.ms=5 compression.type=none
produce "produce 1 KiB, 6 partitions, acks=1, linger 5 ms, lz4" bench6 acks=1 linger.ms=5 compression.type=lz4
produce "produce 1 KiB, 6 partitions, acks=all, linger 5 ms, none" bench6 acks=all linger.ms=5 compression.type=none
produce "produce 1 KiB, 6 partitions, acks=all, linger 5 ms, lz4" bench6 acks=all linger.ms=5 compression.type=lz4

out=$("$gregor" perf consume --bootstrap-server "$bs" --topic bench6 --messages "$consume_records" --timeout 30000 --format json)
mb=$(jget fetch_mb_per_sec <<<"$out")
row "consume 1 KiB from page cache, 6 partitions" "$(r1 "$mb") MB/s" "$(ratio "$mb" "$loop")" "loopback"

target=$(awk -v r="$max_rps" 'BEGIN { printf "%d", (r / 2 > 1) ? r / 2 : 1 }')
out=$("$gregor" perf e2e --bootstrap-server "$bs" --topic bench6 --num-records "$e2e_records" --record-size 1024 \
  --throughput "$target" --format json --producer-props acks=all linger.ms=5)
row "e2e latency at 50% of max load ($target rec/s), acks=all" \
  "p50 $(r1 "$(jget p50_ms <<<"$out")") ms, p99 $(r1 "$(jget p99_ms <<<"$out")") ms, p99.9 $(r1 "$(jget p999_ms <<<"$out")") ms" "n/a" "-"

produce "produce 1 KiB, 1 partition, acks=1, linger 5 ms" bench1 acks=1 linger.ms=5
produce "produce 1 KiB, $many partitions, acks=1, linger 5 ms" benchmany acks=1 linger.ms=5

rss_before=$(rss_mib)
ntopics=$((idle / 1000)); [ "$ntopics" -ge 1 ] || ntopics=1
per=$((idle / ntopics))
for i in $(seq 1 "$ntopics"); do topic "idle$i" "$per"; done
rss_after=$(rss_mib)
row "RSS with $((ntopics * per)) more idle partitions" "$rss_before -> $rss_after MiB" "n/a" "-"
stop_node
start_node
row "restart with $((ntopics * per + 7 + many)) partitions" "$startup_ms ms to first answer, RSS $(rss_mib) MiB" "n/a" "-"

echo "| scenario | figure | ratio | limit |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
