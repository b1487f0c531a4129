#!/bin/bash
# KUA_BENCH_WRAP=bench/cpu-time.sh (absolute path): runs the daemon as a child, forwards SIGTERM, and
# appends the daemon's CPU time (utime + stime, clock ticks, read from /proc/PID/stat every 0.1 s) to
# $KUA_CPU_LOG, one line per daemon. The harness stops the daemon with SIGTERM, after which its
# /proc entry is gone, so the last reading is kept (it misses at most the last 0.1 s).
"$@" & pid=$!
trap 'kill -TERM $pid' TERM INT
last=0
while kill -0 $pid 2>/dev/null; do
  s=$(cat /proc/$pid/stat 2>/dev/null) && last=$(echo "$s" | sed 's/.*) //' | awk '{print $12+$13}')
  sleep 0.1
done
wait $pid; rc=$?
echo "$last" >> "${KUA_CPU_LOG:-/tmp/kua-bench-cpu.log}"
exit $rc
