#!/usr/bin/env bash
# The seed's story, end to end, on any Linux box with QEMU (no USB needed):
#   a Windows-XP-like VM (TCG, paused) with a QMP socket, an ext4 image on a loop device as the
#   "flash drive", and the agent with one rule that sends that drive to the VM. The plug is a real
#   kernel uevent; what the VM got is shown by QEMU itself; then the drive is pulled and is gone.
# Run as root:  sudo examples/demo.sh      (KUA_BINARY=path uses an existing kvm-udev-agent binary)
# Everything it starts or attaches is stopped and removed on exit, by PID and by name returned.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (loop devices, uevents): sudo $0" >&2; exit 77; }
for tool in qemu-system-x86_64:qemu-system-x86 mkfs.ext4:e2fsprogs losetup:util-linux socat:socat; do
  command -v "${tool%%:*}" >/dev/null || { echo "demo.sh: ${tool%%:*} is missing: apt-get install ${tool#*:}" >&2; exit 1; }
done

work=$(mktemp -d /tmp/kua-demo.XXXXXX)
qemu_pid= agent_pid= loop= syslog_pid=
cleanup() {
  [ -n "$syslog_pid" ] && kill "$syslog_pid" 2>/dev/null && wait "$syslog_pid" 2>/dev/null || true
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null || true
  [ -n "$loop" ] && losetup -d "$loop" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
# One QMP question on the demo's own socket (QEMU serves one client per monitor; the agent has the other).
qmp() {
  printf '{"execute":"qmp_capabilities"}\n%s\n' "$1" | socat -t 1 - "UNIX-CONNECT:$work/look.qmp" | tr -d '\r' | tail -n 1
}
info_usb() {
  qmp '{"execute":"human-monitor-command","arguments":{"command-line":"info usb"}}' \
    | sed -e 's/^{"return": "//' -e 's/\\r\\n/\n/g' | sed -e 's/"} *$//' -e '/^ *$/d' -e 's/^/   /'
}
wait_for() { # wait_for SECONDS COMMAND...: polls until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { echo "demo.sh: timed out waiting for: $*" >&2; [ -f "$work/agent.log" ] && cat "$work/agent.log" >&2; exit 1; }
    sleep 0.1
  done
}

binary=${KUA_BINARY:-${KUA_AOT_BINARY:-}}
if [ -z "$binary" ]; then
  step "Building kvm-udev-agent"
  dotnet build src/KvmUdevAgent -c Release -nologo -v quiet >/dev/null
  binary=src/KvmUdevAgent/bin/Release/net10.0/kvm-udev-agent
fi

step "A flash drive: an ext4 image labelled DEMOFLASH on a loop device"
truncate -s 16M "$work/flash.img"
mkfs.ext4 -q -L DEMOFLASH "$work/flash.img"
loop=$(losetup --find --show "$work/flash.img")
echo "   $loop"

step "The VM 'winxp': QEMU (TCG, paused) with its monitor on a QMP socket"
qemu-system-x86_64 -machine q35,accel=tcg -nodefaults -display none -S -device qemu-xhci,id=xhci \
  -qmp "unix:$work/winxp.qmp,server=on,wait=off" -qmp "unix:$work/look.qmp,server=on,wait=off" \
  2>"$work/qemu.log" &
qemu_pid=$!
wait_for 20 test -S "$work/look.qmp"
echo "   pid $qemu_pid, monitor unix:$work/winxp.qmp"

step "An audit collector: socat listening for RFC 5424 syslog on UDP (rsyslog would do the same)"
port=$((20000 + RANDOM % 40000))
socat -u "UDP-RECV:$port,bind=127.0.0.1" "OPEN:$work/audit.log,creat,append" &
syslog_pid=$!
echo "   udp:127.0.0.1:$port"

token=demo$RANDOM$RANDOM
mkdir -p "$work/rules.d"
cat > "$work/rules.d/10-demo.yaml" <<RULES
rules:
  - name: demo-flash-to-winxp
    description: The demo's flash drive goes to winxp as a read-only USB stick
    match:
      subsystem: block
      props: { SYNTH_ARG_DEMO: "$token" }
    attach:
      vm: winxp
      as: usb-storage
      read_only: true
RULES
cat > "$work/agent.yaml" <<CONFIG
source: kernel
rules_dir: $work/rules.d
state_file: $work/state/state.json
control_socket: $work/agent.sock
mount_base: $work/media
vms:
  winxp: { monitor: "unix:$work/winxp.qmp" }
audit:
  syslog: "udp:127.0.0.1:$port"
CONFIG
step "The rule"
sed 's/^/   /' "$work/rules.d/10-demo.yaml"

step "The agent: kvm-udev-agent run --config agent.yaml"
"$binary" run --config "$work/agent.yaml" 2>"$work/agent.log" &
agent_pid=$!
wait_for 20 grep -q "VM winxp reconciled" "$work/agent.log"
sed 's/^/   /' "$work/agent.log"

step "Plug: the kernel announces the drive (a real uevent on $(basename "$loop"))"
echo "add $(cat /proc/sys/kernel/random/uuid) DEMO=$token" > "/sys/class/block/$(basename "$loop")/uevent"
wait_for 10 sh -c "grep -q 'attach.*attached' '$work/agent.log'"
grep -E "Plan for|attach " "$work/agent.log" | sed 's/^/   /'

step "What QEMU says the VM has now (info usb, query-block)"
info_usb
qmp '{"execute":"query-block"}' | grep -o '"file": "/dev/loop[0-9]*"\|"ro": [a-z]*' | sort -u | sed 's/^/   /'

step "Unplug: the kernel announces the removal"
echo "remove $(cat /proc/sys/kernel/random/uuid) DEMO=$token" > "/sys/class/block/$(basename "$loop")/uevent"
wait_for 10 sh -c "grep -q 'detach.*detached\|detach.*already gone' '$work/agent.log'"
grep -E "detach " "$work/agent.log" | sed 's/^/   /'

step "What QEMU says now"
usb=$(info_usb)
[ -n "$usb" ] && echo "$usb" || echo "   (no USB devices: the drive is gone and QEMU is clean)"
if qmp '{"execute":"query-named-block-nodes"}' | grep -q '"node-name": "kua-'; then
  echo "demo.sh: a kua- block node is still in QEMU" >&2; exit 1
fi

step "The audit trail, as the collector received it (one RFC 5424 record per decision)"
wait_for 5 grep -q 'device.detach' "$work/audit.log"
# UDP carries one record per datagram with no newline; split them for reading.
sed 's/<\([0-9]\{1,3\}\)>1 /\n<\1>1 /g' "$work/audit.log" | grep -E 'device\.(attach|detach)' | sed 's/^/   /'

step "Done; stopping the agent and the VM, detaching the loop device"
