#!/usr/bin/env bash
# Installs kvm-udev-agent: the NativeAOT binary, the default configuration (never over an
# existing one), the rules directory with the example rules, and a systemd unit.
#
#   sudo ./install.sh                      build and install under /usr/local
#   sudo ./install.sh --uninstall          remove what was installed, keep edited config
#   ./install.sh --prefix /usr DESTDIR=/tmp/pkg   (or DESTDIR in the environment) for packagers
#
# Running it twice changes nothing. What it installed is listed, with checksums, in
# $DESTDIR/var/lib/kvm-udev-agent/install-manifest, which --uninstall reads.
set -euo pipefail
cd "$(dirname "$0")"

prefix=/usr/local
sysconfdir=/etc
unitdir=
binary=
uninstall=0
usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'USAGE'
Options:
  --prefix DIR      install the binary to DIR/bin (default /usr/local)
  --sysconfdir DIR  configuration under DIR/kvm-udev-agent (default /etc)
  --unitdir DIR     systemd unit directory (default /etc/systemd/system)
  --binary FILE     install this already-published binary instead of building one
  --uninstall       remove the installed files (edited configuration and rules are kept)
  DESTDIR=DIR       stage everything below DIR (also read from the environment)
USAGE
}
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --sysconfdir) sysconfdir=$2; shift 2 ;;
    --sysconfdir=*) sysconfdir=${1#*=}; shift ;;
    --unitdir) unitdir=$2; shift 2 ;;
    --unitdir=*) unitdir=${1#*=}; shift ;;
    --binary) binary=$2; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --uninstall) uninstall=1; shift ;;
    DESTDIR=*) DESTDIR=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument '$1'" >&2; usage >&2; exit 64 ;;
  esac
done
destdir=${DESTDIR:-}
unitdir=${unitdir:-/etc/systemd/system}
bindir=$prefix/bin
confdir=$sysconfdir/kvm-udev-agent
docdir=$prefix/share/doc/kvm-udev-agent
mandir=$prefix/share/man
completiondir=$prefix/share/bash-completion/completions
manifest_rel=/var/lib/kvm-udev-agent/install-manifest
manifest=$destdir$manifest_rel

if [ -z "$destdir" ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: installing into the system needs root: sudo $0 $*" >&2
  exit 77
fi

if [ "$uninstall" = 1 ]; then
  if [ ! -f "$manifest" ]; then
    echo "install.sh: nothing to uninstall ($manifest not found)"
    exit 0
  fi
  if [ -z "$destdir" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now kvm-udev-agent.service 2>/dev/null || true
  fi
  while IFS=' ' read -r sum path; do
    [ "$sum" = dir ] && continue
    file=$destdir$path
    [ -e "$file" ] || continue
    if [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sum" ]; then
      rm -f "$file"
      echo "removed $path"
    else
      echo "kept $path (changed since it was installed)"
    fi
  done < "$manifest"
  # Directories this script created go, deepest first, and only when empty: anything the
  # administrator added stays, and so does every directory that was there before.
  dirs=$(awk '$1 == "dir" { print $2 }' "$manifest" | awk '{ print gsub("/", "/"), $0 }' | sort -rn | cut -d' ' -f2-)
  rm -f "$manifest"
  for dir in $dirs; do
    rmdir "$destdir$dir" 2>/dev/null && echo "removed $dir/" || true
  done
  [ -z "$destdir" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ] && systemctl daemon-reload || true
  exit 0
fi

if [ -z "$binary" ]; then
  command -v dotnet >/dev/null || { echo "install.sh: the .NET 10 SDK is needed to build (or pass --binary FILE)" >&2; exit 1; }
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  dotnet publish src/KvmUdevAgent/KvmUdevAgent.csproj -c Release -r linux-x64 -o "$out" -warnaserror -nologo >&2
  binary=$out/kvm-udev-agent
fi
[ -x "$binary" ] || { echo "install.sh: $binary is not an executable" >&2; exit 66; }

new_manifest=$(mktemp)
trap 'rm -f "$new_manifest"; [ -n "${out:-}" ] && rm -rf "$out"' EXIT
# Keep the entries of files a previous run installed and that are still ours.
[ -f "$manifest" ] && cp "$manifest" "$new_manifest"

# make_dirs DIR: creates DIR and its missing parents, recording each one created.
make_dirs() {
  local dir=$1 missing=()
  while [ -n "$dir" ] && [ "$dir" != / ] && [ ! -d "$destdir$dir" ]; do
    missing+=("$dir")
    dir=$(dirname "$dir")
  done
  local i
  for ((i = ${#missing[@]} - 1; i >= 0; i--)); do
    install -d -m 0755 "$destdir${missing[i]}"
    echo "dir ${missing[i]}" >> "$new_manifest"
  done
}
record() { # path relative to destdir
  local sum
  sum=$(sha256sum "$destdir$1" | cut -d' ' -f1)
  grep -v " $1\$" "$new_manifest" > "$new_manifest.tmp" || true
  mv "$new_manifest.tmp" "$new_manifest"
  echo "$sum $1" >> "$new_manifest"
}
# install_file SRC DEST MODE: installs when missing or different; records it.
install_file() {
  local src=$1 dest=$2 mode=$3
  if [ -f "$destdir$dest" ] && cmp -s "$src" "$destdir$dest"; then
    chmod "$mode" "$destdir$dest"
  else
    make_dirs "$(dirname "$dest")"
    install -m "$mode" "$src" "$destdir$dest"
    echo "installed $dest"
  fi
  record "$dest"
}
# install_config SRC DEST: never overwrites a file the administrator has (or has changed).
install_config() {
  local src=$1 dest=$2
  if [ -e "$destdir$dest" ]; then
    if cmp -s "$src" "$destdir$dest"; then record "$dest"; else echo "kept $dest (exists)"; fi
  else
    make_dirs "$(dirname "$dest")"
    install -m 0644 "$src" "$destdir$dest"
    echo "installed $dest"
    record "$dest"
  fi
}

staging=$(mktemp -d)
trap 'rm -rf "$staging" "$new_manifest"; [ -n "${out:-}" ] && rm -rf "$out"' EXIT
sed -e "s|^rules_dir: .*|rules_dir: $confdir/rules.d|" config/agent.yaml > "$staging/agent.yaml"
sed -e "s|@BINDIR@|$bindir|g" -e "s|@CONFDIR@|$confdir|g" -e "s|@DOCDIR@|$docdir|g" packaging/kvm-udev-agent.service > "$staging/kvm-udev-agent.service"
# The manual pages come from the binary being installed (its command tree, its rule key table).
"$binary" generate-docs --output "$staging/man"

install_file "$binary" "$bindir/kvm-udev-agent" 0755
make_dirs "$confdir/rules.d"
install_config "$staging/agent.yaml" "$confdir/agent.yaml"
for rule in rules/*.yaml; do
  [ -e "$rule" ] || continue
  install_config "$rule" "$confdir/rules.d/$(basename "$rule")"
done
install_file "$staging/kvm-udev-agent.service" "$unitdir/kvm-udev-agent.service" 0644
install_file README.md "$docdir/README.md" 0644
install_file "$staging/man/kvm-udev-agent.8" "$mandir/man8/kvm-udev-agent.8" 0644
install_file "$staging/man/kvm-udev-agent.rules.5" "$mandir/man5/kvm-udev-agent.rules.5" 0644
install_file packaging/completion/kvm-udev-agent "$completiondir/kvm-udev-agent" 0644
for example in examples/*; do
  [ -f "$example" ] || continue
  install_file "$example" "$docdir/examples/$(basename "$example")" 0644
done
make_dirs "$(dirname "$manifest_rel")"
sort -u -k2 "$new_manifest" > "$new_manifest.sorted"
if ! cmp -s "$new_manifest.sorted" "$manifest"; then
  install -m 0644 "$new_manifest.sorted" "$manifest"
fi
rm -f "$new_manifest.sorted"

if [ -z "$destdir" ]; then
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    echo "Start it with: systemctl enable --now kvm-udev-agent"
  else
    echo "This host does not run systemd. Start the daemon with:"
    echo "  $bindir/kvm-udev-agent run --config $confdir/agent.yaml"
    echo "(from your init system, as root; it logs to stderr and audits to syslog)"
  fi
fi
