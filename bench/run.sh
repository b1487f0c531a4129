#!/usr/bin/env bash
# The end-to-end benchmark of issue 7, in one run: event → QEMU latency, a 500-device storm,
# netlink throughput through 1,000 rules, and the NativeAOT daemon's footprint, each beside the
# udevd + RUN+= script + socat baseline. Prints one Markdown table (the one in bench/README.md).
#   sudo bench/run.sh [--quick] [--only latency,storm,throughput,footprint]
# Needs root: loop devices, netlink injection in private network namespaces, and a private
# systemd-udevd in its own mount namespace (the machine's udev setup is not touched).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "bench/run.sh: needs root; run: sudo bench/run.sh" >&2
  exit 1
fi
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 (Debian package: $2)"); }
need qemu-system-x86_64 qemu-system-x86
need rsyslogd rsyslog
need losetup util-linux
need unshare util-linux
need nsenter util-linux
need udevadm udev
need socat socat
need gcc gcc
[ -x /lib/systemd/systemd-udevd ] || missing+=("/lib/systemd/systemd-udevd (Debian package: udev)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'bench/run.sh: missing tools; install them first:\n' >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
publish_dir=artifacts/bench-aot
dotnet publish src/KvmUdevAgent/KvmUdevAgent.csproj -c Release -r linux-x64 -o "$publish_dir" -warnaserror -nologo -v quiet >&2
dotnet build bench/KvmUdevAgent.Bench -c Release -nologo -v quiet >&2
exec dotnet bench/KvmUdevAgent.Bench/bin/Release/net10.0/KvmUdevAgent.Bench.dll e2e --agent "$PWD/$publish_dir/kvm-udev-agent" "$@"
