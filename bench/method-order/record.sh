#!/usr/bin/env bash
# Records the methods the NativeAOT daemon calls from exec to idle, in first-call order, into
# src/KvmUdevAgent/method-order.txt (the code layout of issue 15; see README.md here).
#   sudo bench/method-order/record.sh
# Runs the footprint section of bench/run.sh (3 starts: 100 rules, 2 paused QEMUs, coldplug of the
# seed drive, audit to a private rsyslogd) with the daemon under ./trace, which puts a one-shot
# breakpoint on every managed method's entry and logs each the first time it runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
  echo "record.sh: needs root (the benchmark does); run: sudo bench/method-order/record.sh" >&2
  exit 1
fi
out=artifacts/method-order
rm -rf "$out"
mkdir -p "$out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet publish src/KvmUdevAgent/KvmUdevAgent.csproj -c Release -r linux-x64 -o "$out/bin" -warnaserror -nologo -v quiet >&2
dotnet build bench/KvmUdevAgent.Bench -c Release -nologo -v quiet >&2
gcc -O2 -Wall -o "$out/trace" bench/method-order/trace.c
# "offset name" of every symbol in __managedcode (the unstripped copy has the names).
read -r start size < <(readelf -SW "$out/bin/kvm-udev-agent.dbg" 2>/dev/null | sed 's/\[ */[/' | awk '$2 == "__managedcode" { print $4, $6 }')
nm -t d "$out/bin/kvm-udev-agent.dbg" 2>/dev/null | awk -v s=$((16#$start)) -v n=$((16#$size)) '
  ($2 == "t" || $2 == "T") && $1 + 0 >= s && $1 + 0 < s + n { printf "%x %s\n", $1, $3 }' > "$out/symbols"
KUA_BENCH_WRAP="$PWD/$out/trace $PWD/$out/calls $PWD/$out/symbols --" \
  dotnet bench/KvmUdevAgent.Bench/bin/Release/net10.0/KvmUdevAgent.Bench.dll e2e --agent "$PWD/$out/bin/kvm-udev-agent" --quick --only footprint
awk '!seen[$0]++' "$out/calls" > src/KvmUdevAgent/method-order.txt
echo "record.sh: $(wc -l < src/KvmUdevAgent/method-order.txt) methods in src/KvmUdevAgent/method-order.txt" >&2
