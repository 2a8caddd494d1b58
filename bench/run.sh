#!/usr/bin/env bash
# Runs Gregor's benchmark suite on this machine and prints one markdown table.
#
# It builds gregor, starts a fresh single node (data in a temp dir, random ports), measures the
# machine's own limits in the same run (loopback TCP, sequential disk writes with and without
# fdatasync, with the hidden "gregor perf limits"), then runs the scenarios with "gregor perf"
# and prints each figure with its ratio to the limit that bounds it. Last, it starts a cluster
# of three nodes on loopback for the replicated scenario. Figures are indicative: on a shared
# machine they move with the neighbours' load.
#
# Each scenario runs on its own: one that fails (or runs past BENCH_STEP_TIMEOUT seconds per
# command) gets a FAILED row, the others still run, the table is printed with every row
# gathered, the failed steps are named after it, and the script exits non-zero.
#
# BENCH_QUICK=1 runs a tiny version in seconds (bench/bench_test.go runs it so the script
# cannot silently rot). GREGOR=path uses a built binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
  records=1000 consume_records=1000 e2e_max_records=1000 e2e_records=200 flush_records=200 many=50 idle=200 idle_per_topic=100
  limits=(--net-mib 32 --disk-mib 8 --sync-writes 4)
  step_timeout=${BENCH_STEP_TIMEOUT:-120}
else
  records=200000 consume_records=200000 e2e_max_records=100000 e2e_records=50000 flush_records=20000 many=1000 idle=10000 idle_per_topic=1000
  limits=(--net-mib 1024 --disk-mib 512 --sync-writes 64)
  step_timeout=${BENCH_STEP_TIMEOUT:-600}
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gregor-bench.XXXXXX")
printed=0
failed=()

# Every node started is listed in $work/pids, so that cleanup stops them however the script ends.
cleanup() {
  if [ "$printed" = 0 ]; then
    print_table || true
  fi
  if [ -f "$work/pids" ]; then
    while read -r p; do
      if kill -0 "$p" 2>/dev/null; then
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
      fi
    done <"$work/pids"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Rows live in a file, so that scenarios running in subshells add to the same table.
: >"$work/rows"
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" >>"$work/rows"; }

print_table() {
  printed=1
  echo "| scenario | figure | ratio | limit |"
  echo "| --- | --- | --- | --- |"
  cat "$work/rows"
  if [ "${#failed[@]}" -gt 0 ]; then
    echo
    echo "Failed steps: ${failed[*]}"
  fi
}

# step NAME FUNCTION ARGS...: runs one scenario in a subshell that stops at its first failing
# command; a failure becomes a FAILED row and the script goes on with the next scenario.
step() {
  local name=$1 rc
  shift
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    local why="exit $rc"
    [ "$rc" = 124 ] && why="timed out after ${step_timeout}s"
    echo "bench: step \"$name\" failed ($why)" >&2
    failed+=("\"$name\" ($why)")
    row "$name" "FAILED ($why)" "n/a" "-"
  fi
}

gregor=${GREGOR:-}
if [ -z "$gregor" ]; then
  gregor=$work/gregor
  go build -o "$gregor" ./cmd/gregor
fi

# g runs one gregor command, killed after step_timeout seconds (exit 124).
g() { timeout -k 10 "$step_timeout" "$gregor" "$@"; }

# free_port sets port_out to a TCP port on 127.0.0.1 that nothing listens on and that it has
# not handed out before (a variable, not output: a $(...) subshell would forget what it handed
# out). It picks below the kernel's ephemeral range, where ports that other programs
# (tests running alongside) bind as port 0 never land, so the port stays free until the node
# binds it.
ephemeral_low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "${ephemeral_low:-0}" -gt 12000 ] || ephemeral_low=32768
handed_out=" "
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % (ephemeral_low - 10000)))
    case "$handed_out" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      handed_out+="$p "
      port_out=$p
      return
    fi
  done
}

rss_of() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "n/a"; }

# jget KEY: the number after "KEY": in the JSON on stdin.
jget() { sed -n "s/.*\"$1\": *\([-0-9.eE+]*\).*/\1/p" | head -1; }

# r1 X: X to one decimal.
r1() { awk -v x="$1" 'BEGIN { if (x == "") print "n/a"; else printf "%.1f", x }'; }

# ratio A B: A/B to two decimals, or n/a.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else print "n/a" }'; }

# wait_answers BOOTSTRAP PID LOG: waits until the node answers (or dies, or 120 s pass).
wait_answers() {
  local deadline=$((SECONDS + 120))
  until "$gregor" topic list --bootstrap-server "$1" >/dev/null 2>&1; do
    if ! kill -0 "$2" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      echo "gregor did not start; its log:" >&2
      tail -50 "$3" >&2
      return 1
    fi
    sleep 0.05
  done
}

# Like any Kafka broker, a node with many partitions needs many file descriptors: take the
# hard limit (best effort).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- the machine's limits ---------------------------------------------------------------------

mkdir -p "$work/data"
g perf limits --dir "$work" "${limits[@]}" --format json >"$work/limits.json"
loop=$(jget loopback_mb_per_sec <"$work/limits.json")
disk=$(jget disk_write_mb_per_sec <"$work/limits.json")
sync1m=$(jget disk_write_fdatasync_1mib_mb_per_sec <"$work/limits.json")
sync16k=$(jget disk_write_fdatasync_16kib_mb_per_sec <"$work/limits.json")
minld=$(awk -v a="$loop" -v b="$disk" 'BEGIN{print (a<b)?a:b}')
row "limit: loopback TCP" "$(r1 "$loop") MB/s" "1.00" "-"
row "limit: disk write, one fdatasync at end" "$(r1 "$disk") MB/s" "1.00" "-"
row "limit: disk write, fdatasync per 1 MiB" "$(r1 "$sync1m") MB/s" "1.00" "-"
row "limit: disk write, fdatasync per 16 KiB" "$(r1 "$sync16k") MB/s" "1.00" "-"

# --- one node -----------------------------------------------------------------------------------

free_port; port=$port_out
free_port; cport=$port_out
bs=127.0.0.1:$port
pid=""

# start_node starts gregor serve on the data dir and waits until it answers; it sets pid and
# startup_ms.
start_node() {
  local t0 t1
  t0=$(date +%s%N)
  "$gregor" serve \
    --override "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport" \
    --override "advertised.listeners=PLAINTEXT://127.0.0.1:$port" \
    --override "log.dirs=$work/data" \
    --override "admin.listeners=" \
    --override "group.initial.rebalance.delay.ms=0" \
    >>"$work/node.log" 2>&1 &
  pid=$!
  echo "$pid" >>"$work/pids"
  wait_answers "$bs" "$pid" "$work/node.log"
  t1=$(date +%s%N)
  startup_ms=$(( (t1 - t0) / 1000000 ))
}

stop_node() {
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
}

# topic NAME PARTITIONS [--config k=v ...]: creates a one-replica topic on the single node.
topic() {
  local name=$1 parts=$2
  shift 2
  g topic create --bootstrap-server "$bs" --topic "$name" --partitions "$parts" --replication-factor 1 "$@" >/dev/null
}

# produce NAME BOOTSTRAP TOPIC LIMIT_NAME LIMIT_MBPS NUM PROPS...: one producer-perf-test run of
# 1 KiB records; records its row with its ratio to the limit, and keeps its figures in
# $work/fig.<TOPIC>.<props> and the best rate in $work/max_rps.
produce() {
  local name=$1 bootstrap=$2 topic=$3 limit_name=$4 limit=$5 num=$6
  shift 6
  local out mb rps p99
  out=$(g perf produce --bootstrap-server "$bootstrap" --topic "$topic" --num-records "$num" \
    --record-size 1024 --throughput -1 --format json --producer-props "$@")
  mb=$(jget mb_per_sec <<<"$out")
  rps=$(jget records_per_sec <<<"$out")
  p99=$(jget p99_ms <<<"$out")
  [ -n "$mb" ] || { echo "no figure in: $out" >&2; return 1; }
  row "$name" "$(r1 "$mb") MB/s, $(printf %.0f "$rps") rec/s, p99 $p99 ms" "$(ratio "$mb" "$limit")" "$limit_name"
  echo "$mb" >"$work/fig.$topic.$(echo "$*" | tr ' =' '_-')"
  if awk -v a="$rps" -v b="$(cat "$work/max_rps" 2>/dev/null || echo 0)" 'BEGIN{exit !(a>b)}'; then
    echo "$rps" >"$work/max_rps"
  fi
}

# produce1 NAME TOPIC PROPS...: produce against the single node, bounded by min(loopback, disk).
produce1() {
  local name=$1 topic=$2
  shift 2
  produce "$name" "$bs" "$topic" "min(loopback, disk)" "$minld" "$records" "$@"
}

start_node
topics() { topic bench6 6 && topic bench1 1 && topic benchmany "$many"; }
step "create the benchmark topics" topics
step "produce 1 KiB, 6 partitions, acks=1, linger 5 ms, none" produce1 "produce 1 KiB, 6 partitions, acks=1, linger 5 ms, none" bench6 acks=1 linger.ms=5 compression.type=none
step "produce 1 KiB, 6 partitions, acks=1, linger 5 ms, lz4" produce1 "produce 1 KiB, 6 partitions, acks=1, linger 5 ms, lz4" bench6 acks=1 linger.ms=5 compression.type=lz4
step "produce 1 KiB, 6 partitions, acks=all, linger 5 ms, none" produce1 "produce 1 KiB, 6 partitions, acks=all, linger 5 ms, none" bench6 acks=all linger.ms=5 compression.type=none
step "produce 1 KiB, 6 partitions, acks=all, linger 5 ms, lz4" produce1 "produce 1 KiB, 6 partitions, acks=all, linger 5 ms, lz4" bench6 acks=all linger.ms=5 compression.type=lz4

consume() {
  local out mb
  out=$(g perf consume --bootstrap-server "$bs" --topic bench6 --messages "$consume_records" --timeout 30000 --format json)
  mb=$(jget fetch_mb_per_sec <<<"$out")
  row "consume 1 KiB from page cache, 6 partitions" "$(r1 "$mb") MB/s" "$(ratio "$mb" "$loop")" "loopback"
}
step "consume 1 KiB from page cache, 6 partitions" consume

# Latency at 50% of max load, as Kafka's own latency measurements set the producer up: acks=all
# (the durable setting the goal is stated for), linger.ms=0 (send as soon as a connection is
# free; Kafka's EndToEndLatency tool sets it so), batch.size=16384 (Kafka's default) and an
# idempotent producer's 5 requests in flight (Kafka's default). A linger of 5 ms would put up to
# 5 ms into every acknowledgement before the broker sees the record, and the client's 1 MiB
# default batch would hold records back at any rate; neither is the broker's latency.
#
# "Max load" is measured with these same settings by the same e2e tool, producer and consumer
# together (--throughput -1): the throughput rows above batch with linger 5 and run no consumer,
# so half of their rate is more than half of what this pair can carry on these cores. Then the
# latency run produces at half that rate. The producer's acknowledgement (send call to ack:
# what the broker adds to a write) and the end-to-end latency (send call to arrival at the
# consumer) are reported as separate rows.
latency_props=(acks=all linger.ms=0 batch.size=16384 max.in.flight.requests.per.connection=5)
e2e() {
  local max target out
  out=$(g perf e2e --bootstrap-server "$bs" --topic bench6 --num-records "$e2e_max_records" --record-size 1024 \
    --throughput -1 --format json --producer-props "${latency_props[@]}")
  max=$(jget records_per_sec <<<"$out")
  [ -n "$max" ] || { echo "no rate in: $out" >&2; return 1; }
  target=$(awk -v r="$max" 'BEGIN { printf "%d", (r / 2 > 1) ? r / 2 : 1 }')
  row "e2e max load, acks=all, linger 0, batch.size 16 KiB" "$(printf %.0f "$max") rec/s, $(r1 "$(awk -v r="$max" 'BEGIN { print r * 1024 / 1e6 }')") MB/s" "n/a" "-"
  out=$(g perf e2e --bootstrap-server "$bs" --topic bench6 --num-records "$e2e_records" --record-size 1024 \
    --throughput "$target" --format json --producer-props "${latency_props[@]}")
  row "produce ack latency at 50% of max load ($target rec/s), acks=all" \
    "p50 $(r1 "$(jget ack_p50_ms <<<"$out")") ms, p99 $(r1 "$(jget ack_p99_ms <<<"$out")") ms, p99.9 $(r1 "$(jget ack_p999_ms <<<"$out")") ms" "n/a" "-"
  row "e2e latency at 50% of max load ($target rec/s), acks=all" \
    "p50 $(r1 "$(jget p50_ms <<<"$out")") ms, p99 $(r1 "$(jget p99_ms <<<"$out")") ms, p99.9 $(r1 "$(jget p999_ms <<<"$out")") ms" "n/a" "-"
}
step "e2e latency at 50% of max load" e2e

step "produce 1 KiB, 1 partition, acks=1, linger 5 ms" produce1 "produce 1 KiB, 1 partition, acks=1, linger 5 ms" bench1 acks=1 linger.ms=5
step "produce 1 KiB, $many partitions, acks=1, linger 5 ms" produce1 "produce 1 KiB, $many partitions, acks=1, linger 5 ms" benchmany acks=1 linger.ms=5

# flush.messages=1: every produced batch is fdatasynced before it is acknowledged. The producer
# sends batches of batch.size=16384 (Kafka's default), so the fair bound is the disk's rate with
# one fdatasync per 16 KiB written; several batches sharing one fdatasync (group commit) is how
# a broker gets near or past it.
flush() {
  local acks=$1
  topic "benchflush$acks" 1 --config flush.messages=1
  produce "produce 1 KiB, 1 partition, flush.messages=1, acks=$acks, batch.size 16 KiB" "$bs" "benchflush$acks" \
    "disk, fdatasync per 16 KiB" "$sync16k" "$flush_records" acks="$acks" linger.ms=5 batch.size=16384 compression.type=none
}
step "produce with flush.messages=1, acks=1" flush 1
step "produce with flush.messages=1, acks=all" flush all

# Idle partitions, created as a Kafka user would: topics of idle_per_topic partitions, one after
# another. A create the client gave up on may still finish on the broker, so a retry of the
# same topic succeeds with --if-not-exists.
idle_partitions() {
  local ntopics i try
  ntopics=$(( (idle + idle_per_topic - 1) / idle_per_topic ))
  for i in $(seq 1 "$ntopics"); do
    for try in 1 2 3; do
      if topic "idle$i" "$idle_per_topic" --if-not-exists; then
        echo $((i * idle_per_topic)) >"$work/idle_created"
        break
      fi
      echo "bench: creating idle$i failed (try $try)" >&2
      [ "$try" -lt 3 ] || return 1
    done
  done
}
rss_before=$(rss_of "$pid")
step "create $idle idle partitions" idle_partitions
idle_created=$(cat "$work/idle_created" 2>/dev/null || echo 0)
# The node keeps each segment's .log, .index and .timeindex open: the open-file limit it was
# started with (raised to the hard limit above) bounds how many partitions it can host.
row "RSS with $idle_created more idle partitions (open-file limit $(ulimit -n))" "$rss_before -> $(rss_of "$pid") MiB" "n/a" "-"

restart() {
  stop_node
  start_node
  row "restart with $((idle_created + 7 + 2 + many)) partitions" "$startup_ms ms to first answer, RSS $(rss_of "$pid") MiB" "n/a" "-"
  echo "$pid" >"$work/single_pid"
}
step "restart" restart
# The restart ran in a subshell: its node is the one to stop now.
if [ -f "$work/single_pid" ]; then pid=$(cat "$work/single_pid"); fi
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then stop_node; fi

# --- three nodes --------------------------------------------------------------------------------

# cluster3 starts three nodes on loopback, each broker and controller voter (as
# "gregor dev cluster" does), makes a 6-partition topic with three replicas and produces to it
# with acks=all: every batch crosses loopback to two followers before it is acknowledged.
cluster3() {
  local ports=() cports=() voters="" bootstrap="" i p deadline
  for i in 1 2 3; do
    free_port; ports+=("$port_out")
    free_port; cports+=("$port_out")
  done
  for i in 0 1 2; do
    voters+="${voters:+,}$((i + 1))@127.0.0.1:${cports[$i]}"
    bootstrap+="${bootstrap:+,}127.0.0.1:${ports[$i]}"
  done
  for i in 0 1 2; do
    mkdir -p "$work/c$i"
    "$gregor" serve \
      --override "node.id=$((i + 1))" \
      --override "process.roles=broker,controller" \
      --override "controller.quorum.voters=$voters" \
      --override "listeners=PLAINTEXT://127.0.0.1:${ports[$i]},CONTROLLER://127.0.0.1:${cports[$i]}" \
      --override "advertised.listeners=PLAINTEXT://127.0.0.1:${ports[$i]}" \
      --override "log.dirs=$work/c$i" \
      --override "admin.listeners=" \
      >>"$work/c$i.log" 2>&1 &
    echo "$!" >>"$work/pids"
  done
  # The topic needs all three brokers registered: retry until it is created.
  deadline=$((SECONDS + 120))
  until g topic create --bootstrap-server "$bootstrap" --topic bench6r3 --partitions 6 --replication-factor 3 \
    --if-not-exists >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "the 3-node cluster did not take the topic; node 1's log:" >&2
      tail -50 "$work/c0.log" >&2
      return 1
    fi
    sleep 0.2
  done
  # Produce once every broker's metadata has the topic with three in-sync replicas per
  # partition: a client that meets a broker that has not applied the new topic yet waits for
  # its next metadata refresh (seconds), which would be measured as produce latency.
  for i in 0 1 2; do
    deadline=$((SECONDS + 60))
    until [ "$(g topic describe --bootstrap-server "127.0.0.1:${ports[$i]}" --topic bench6r3 2>/dev/null |
      grep -c 'Partition: .*Leader: [0-9].*Isr: [0-9]*,[0-9]*,[0-9]')" = 6 ]; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "broker $((i + 1)) never showed bench6r3 fully in sync" >&2
        return 1
      fi
      sleep 0.1
    done
  done
  local one
  one=$(cat "$work/fig.bench6.acks-all_linger.ms-5_compression.type-lz4" 2>/dev/null || echo "")
  produce "produce 1 KiB, 3 nodes, RF=3, 6 partitions, acks=all, linger 5 ms, lz4" "$bootstrap" bench6r3 \
    "one node, acks=all, lz4" "$one" "$records" acks=all linger.ms=5 compression.type=lz4
}
step "3-node cluster, RF=3" cluster3

print_table
if [ "${#failed[@]}" -gt 0 ]; then
  exit 1
fi
