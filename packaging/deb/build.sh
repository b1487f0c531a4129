#!/usr/bin/env bash
# Builds the Debian package kvm-udev-agent_VERSION_amd64.deb from the NativeAOT binary, with
# dpkg-deb (no debhelper, no source package: the binary is published by dotnet).
#
#   packaging/deb/build.sh                      publish the binary, build the .deb here
#   packaging/deb/build.sh --binary FILE        package an already published binary
#   packaging/deb/build.sh --output DIR         write the .deb into DIR (default: .)
#
# KUA_AOT_BINARY (which test.sh exports) is used when --binary is not given. The version is the
# top entry of packaging/deb/changelog; its upstream part must be the binary's --version. Prints
# the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/../.."

binary=${KUA_AOT_BINARY:-}
output=.
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --output) output=$2; shift 2 ;;
    --output=*) output=${1#*=}; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument '$1'; see: packaging/deb/build.sh --help" >&2; exit 64 ;;
  esac
done
for tool in dpkg-deb dpkg-shlibdeps gzip objcopy; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing; install it: apt-get install dpkg-dev binutils" >&2; exit 69; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$binary" ]; then
  command -v dotnet >/dev/null || { echo "build.sh: the .NET 10 SDK is needed to publish the binary (or pass --binary FILE)" >&2; exit 69; }
  dotnet publish src/KvmUdevAgent/KvmUdevAgent.csproj -c Release -r linux-x64 -o "$work/publish" -warnaserror -nologo >&2
  binary=$work/publish/kvm-udev-agent
fi
[ -x "$binary" ] || { echo "build.sh: $binary is not an executable" >&2; exit 66; }

version=$(sed -n '1s/^kvm-udev-agent (\([^)]*\)).*/\1/p' packaging/deb/changelog)
binary_version=$("$binary" --version)
binary_version=${binary_version%%+*}
if [ "${version%-*}" != "$binary_version" ]; then
  echo "build.sh: packaging/deb/changelog is at $version but the binary is $binary_version; add a changelog entry for $binary_version-1" >&2
  exit 65
fi
# Reproducible: every timestamp is the changelog entry's.
SOURCE_DATE_EPOCH=$(date -d "$(sed -n 's/^ -- .*>  //p' packaging/deb/changelog | head -1)" +%s)
export SOURCE_DATE_EPOCH

# Laid out as debian/PACKAGE, where dpkg-shlibdeps expects a package's files.
root=$work/pkg/debian/kvm-udev-agent
doc=$root/usr/share/doc/kvm-udev-agent
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/etc/kvm-udev-agent/rules.d" "$root/lib/systemd/system" \
  "$root/usr/share/man/man8" "$root/usr/share/man/man5" "$root/usr/share/bash-completion/completions" \
  "$root/usr/share/lintian/overrides" "$doc/examples"
install -m 0755 "$binary" "$root/usr/bin/kvm-udev-agent"
# The compiler's version strings are of no use at run time (dh_strip drops them too).
objcopy --remove-section=.comment "$root/usr/bin/kvm-udev-agent"
sed -e "s|^rules_dir: .*|rules_dir: /etc/kvm-udev-agent/rules.d|" config/agent.yaml > "$root/etc/kvm-udev-agent/agent.yaml"
install -m 0644 rules/50-mount-flash.yaml "$root/etc/kvm-udev-agent/rules.d/50-mount-flash.yaml"
sed -e "s|@BINDIR@|/usr/bin|g" -e "s|@CONFDIR@|/etc/kvm-udev-agent|g" -e "s|@DOCDIR@|/usr/share/doc/kvm-udev-agent|g" \
  packaging/kvm-udev-agent.service > "$root/lib/systemd/system/kvm-udev-agent.service"
# The manual pages come from the binary being packaged: its command tree and its rule key table.
"$binary" generate-docs --output "$work/man"
gzip -9n -c "$work/man/kvm-udev-agent.8" > "$root/usr/share/man/man8/kvm-udev-agent.8.gz"
gzip -9n -c "$work/man/kvm-udev-agent.rules.5" > "$root/usr/share/man/man5/kvm-udev-agent.rules.5.gz"
install -m 0644 packaging/completion/kvm-udev-agent "$root/usr/share/bash-completion/completions/kvm-udev-agent"
install -m 0644 packaging/deb/copyright "$doc/copyright"
gzip -9n -c packaging/deb/changelog > "$doc/changelog.Debian.gz"
install -m 0644 README.md "$doc/README.md"
for example in examples/*; do
  [ -f "$example" ] && install -m 0644 "$example" "$doc/examples/$(basename "$example")"
done
install -m 0644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/kvm-udev-agent"
chmod 0644 "$root"/etc/kvm-udev-agent/agent.yaml "$root"/lib/systemd/system/kvm-udev-agent.service

# Library dependencies as dpkg-shlibdeps reads them from the ELF file. libblkid is opened at run
# time (LibraryImport), so it is named in control.in with the programs the agent runs.
printf 'Source: kvm-udev-agent\n\nPackage: kvm-udev-agent\nArchitecture: amd64\n' > "$work/pkg/debian/control"
shlibs=$(cd "$work/pkg" && dpkg-shlibdeps -O -e debian/kvm-udev-agent/usr/bin/kvm-udev-agent | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build.sh: dpkg-shlibdeps found no library dependency" >&2; exit 1; }

installed_size=$(du -s -k --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@INSTALLED_SIZE@|$installed_size|" -e "s|@SHLIBS@|$shlibs|" \
  packaging/deb/control.in > "$root/DEBIAN/control"
install -m 0644 packaging/deb/conffiles "$root/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | grep -v '^etc/' | LC_ALL=C sort | xargs md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$output"
deb=$output/kvm-udev-agent_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
