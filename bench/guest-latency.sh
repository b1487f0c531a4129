#!/usr/bin/env bash
# Plug → the guest reads the drive's label (issue 13), with the in-guest tests' guest and the
# NativeAOT daemon: sudo bench/guest-latency.sh [ROUNDS]   (default 10 after 2 warm-up)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "bench/guest-latency.sh: needs root (loop devices, a private network namespace); run: sudo bench/guest-latency.sh" >&2
  exit 1
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
publish_dir=artifacts/bench-aot
dotnet publish src/KvmUdevAgent/KvmUdevAgent.csproj -c Release -r linux-x64 -o "$publish_dir" -warnaserror -nologo -v quiet >&2
dotnet build bench/KvmUdevAgent.Bench -c Release -nologo -v quiet >&2
exec dotnet bench/KvmUdevAgent.Bench/bin/Release/net10.0/KvmUdevAgent.Bench.dll guest-latency --agent "$PWD/$publish_dir/kvm-udev-agent" "$@"
