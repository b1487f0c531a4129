#!/bin/bash
# KUA_BENCH_WRAP=$PWD/bench/footprint-watch.sh (absolute path) : execs the daemon (same PID) with a watcher that copies
# status, smaps and the threads' stat lines every ~0.1 s into $KUA_WATCH/<pid>/<ms since exec>; with
# KUA_TRACE=1 the daemon's PID is added to tracefs set_event_pid (event-fork on: its threads too).
dir=${KUA_WATCH:-/tmp/foot-watch}/$$
mkdir -p "$dir"
pid=$$
( t0=$(date +%s%N)
  while [ -d /proc/$pid ]; do
    now=$(( ($(date +%s%N) - t0) / 1000000 ))
    f=$dir/$(printf %06d $now)
    cat /proc/$pid/status > $f.status 2>/dev/null || break
    cat /proc/$pid/smaps > $f.smaps 2>/dev/null
    cat /proc/$pid/task/*/stat > $f.tasks 2>/dev/null
    sleep 0.08
  done ) </dev/null >$dir/watch.log 2>&1 &
[ "$KUA_TRACE" = 1 ] && echo $$ >> /sys/kernel/tracing/set_event_pid
exec "$@"
