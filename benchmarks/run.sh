#!/usr/bin/env bash
# Runs a benchmark scenario and writes benchmarks/results/<scenario>.{json,md,png}.
#   benchmarks/run.sh accept    [--connections 64] [--seconds 10] [--rounds 3] [--with-dispatch]
#   benchmarks/run.sh admission [--connections 64] [--seconds 10] [--rounds 3]   (auth and quotas on vs off)
#   benchmarks/run.sh drain     [--count 100000] [--connections 64] [--seconds 10]  (queued invocations delivered vs direct calls)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mvn -B -q -DskipTests package >&2
exec java -Xmx1g -cp "benchmarks/target/conveyor-benchmarks.jar:benchmarks/target/lib/*" dev.conveyor.bench.Bench "$@"
