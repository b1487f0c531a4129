#!/usr/bin/env bash
# Runs every test: builds the solution, proves the NativeAOT publish has zero trim/AOT
# warnings, then runs the unit and integration tests (which need root and the tools below).
set -euo pipefail
cd "$(dirname "$0")"

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 (Debian package: $2)"); }
need qemu-system-x86_64 qemu-system-x86
need qemu-img qemu-utils
need rsyslogd rsyslog
need mkfs.ext4 e2fsprogs
need losetup util-linux
need mount util-linux
need unshare util-linux
need ip iproute2
need udevadm udev
need socat socat
need blkid util-linux
need gcc gcc
need lintian lintian
need man man-db
need dpkg-deb dpkg
need dpkg-shlibdeps dpkg-dev
need objcopy binutils
need libvirtd libvirt-daemon
need virtlogd libvirt-daemon
need virsh libvirt-clients
need nsenter util-linux
need xz xz-utils
need apt-get apt
need apt-cache apt
need dpkg dpkg
[ -e /usr/lib/x86_64-linux-gnu/libvirt.so.0 ] || missing+=("libvirt.so.0 (Debian package: libvirt0)")
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] || missing+=("libvirt's QEMU driver (Debian package: libvirt-daemon-driver-qemu)")
id -u libvirt-qemu >/dev/null 2>&1 || missing+=("user libvirt-qemu (Debian package: libvirt-daemon-system)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'test.sh: missing tools; install them first (sudo apt-get install ...):\n' >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "test.sh: the integration tests need root (netlink injection, loop devices, mount); run: sudo ./test.sh" >&2
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build KvmUdevAgent.sln -c Release -warnaserror

# The shipping build: NativeAOT, zero trim/AOT warnings (warnings are errors in the csproj).
publish_dir=$(mktemp -d)
trap 'rm -rf "$publish_dir"' EXIT
dotnet publish src/KvmUdevAgent/KvmUdevAgent.csproj -c Release -r linux-x64 -o "$publish_dir" -warnaserror
test -x "$publish_dir/kvm-udev-agent"
"$publish_dir/kvm-udev-agent" --help >/dev/null
export KUA_AOT_BINARY="$publish_dir/kvm-udev-agent"

results=$(mktemp -d)
set +e
dotnet test KvmUdevAgent.sln -c Release --no-build --logger "console;verbosity=normal" --logger "trx" --results-directory "$results" "$@" 2>&1 | tee "$results/console.log"
status=${PIPESTATUS[0]}
set -e
count() { awk -v k="$1" '$1 == k":" { s += $2 } END { print s + 0 }' "$results/console.log"; }
passed=$(count Passed); failed=$(count Failed); skipped=$(count Skipped); total=$(awk '/^Total tests:/ { s += $3 } END { print s + 0 }' "$results/console.log")
if [ "$failed" != 0 ]; then
  # Repeat each failure (its message and the top of its stack and output) at the end, where a CI
  # log that keeps only its tail still shows it.
  echo "test.sh: failed tests:"
  awk '/^  Failed / { on = 1; n = 0 } /^  (Passed|Skipped) |^\[xUnit/ { on = 0 } on && n++ < 40' "$results/console.log"
fi
rm -rf "$results"
if [ "$total" = 0 ] && [ "$status" = 0 ]; then echo "test.sh: no test ran" >&2; status=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$skipped" != 0 ]; then
  echo "test.sh: skipped tests are not allowed" >&2
  exit 1
fi
exit "$status"
