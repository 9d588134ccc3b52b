#!/usr/bin/env bash
# Runs a benchmark scenario and writes benchmarks/results/<scenario>.{json,md,png} (--out DIR to write elsewhere;
# accept --with-dispatch writes accept-with-dispatch.*). Every scenario with a baseline reports CPU ms per 1,000 requests by process.
#   benchmarks/run.sh accept    [--connections 64] [--seconds 10] [--rounds 3] [--with-dispatch]
#   benchmarks/run.sh admission [--connections 64] [--seconds 10] [--rounds 3]   (auth and quotas on vs off)
#   benchmarks/run.sh drain     [--count 300000] [--warmup 900000] [--connections 64] [--seconds 10]  (queued invocations delivered vs direct calls)
#   benchmarks/run.sh sync      [--connections 64] [--seconds 10] [--rounds 3]   (sync invoke through the gateway vs direct calls)
#   benchmarks/run.sh sustained [--start 2000] [--seconds 10] [--warmup 300] [--budget 600] [--connections 128]
#                               (open loop: the highest rate one replica accepts and delivers without a growing backlog, accept p99 < 50 ms)
#   benchmarks/run.sh warm      [--connections 64] [--seconds 60] [--prewarm 20]   (a fresh gateway from /readyz 200: first 10 s vs steady)
#   benchmarks/run.sh fairness  [--flood 40000] [--seconds 20]  (one tenant's queue wait, alone and behind another's flood)
#   benchmarks/run.sh coldstart [--calls 10]   (scale from zero emulated: measured vs injected wait, fabric8 mock API)
#   benchmarks/run.sh backlog   [--count 1000000]   (a 512 MB gateway accepts and delivers them: heap over time, live heap after GC)
#   benchmarks/run.sh micro     [regex]   (JMH microbenchmarks of the hot paths; writes results/micro.md, keeping the rows of those not run)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mvn -B -q -DskipTests package >&2
cp="benchmarks/target/conveyor-benchmarks.jar:benchmarks/target/lib/*"
if [ "${1:-}" = micro ]; then shift; exec java -cp "$cp" dev.conveyor.bench.micro.Micro "$@"; fi
exec java -Xmx1g -cp "$cp" dev.conveyor.bench.Bench "$@"
