# Real third-party signers and verifiers for the differential test (server/tests/interop.rs):
# cosign 2.5 and skopeo 1.18, taken from Debian trixie's packages into a private directory. The
# system's own apt state is left alone: a private apt configuration reads trixie's package lists
# from the same mirror this machine uses. Bookworm's own skopeo (1.9) has sigstore support
# patched out, and trixie's skopeo needs trixie's glibc, so it runs through trixie's loader.
# Sourced after common.sh.
#
# The .debs (about 160 MB) are downloaded once and kept under ~/.cache/trustwatch/peers; later
# calls only print the versions. The test finds the tools through TRUSTWATCH_PEERS_DIR (this
# function exports it) or at the same default place.

export TRUSTWATCH_PEERS_DIR="${TRUSTWATCH_PEERS_DIR:-$HOME/.cache/trustwatch/peers}"

ensure_peer_tools() {
  local dir="$TRUSTWATCH_PEERS_DIR"
  local root="$dir/trixie-root" lib="$dir/trixie-root/usr/lib/x86_64-linux-gnu"
  apt_install ca-certificates debian-archive-keyring
  if [ ! -x "$root/usr/bin/skopeo" ] || [ ! -x "$root/usr/bin/cosign" ] ||
     [ ! -e "$lib/ld-linux-x86-64.so.2" ] || [ ! -x "$dir/bin/skopeo" ]; then
    say "fetching cosign and skopeo from Debian trixie into $dir (once, about 160 MB)"
    local apt="$dir/apt-trixie" debs="$dir/debs" mirror
    rm -rf "$apt" "$debs" "$root" "$dir/bin"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$debs" "$root" "$dir/bin"
    # The mirror this machine's Debian sources name, suite trixie.
    mirror=$( { cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } |
      awk '/^(URIs:|deb )/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }')
    [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt sources"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$apt/sources.list"
    local opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User=root)
    apt-get "${opts[@]}" update -qq || die "could not read Debian trixie's package lists"
    (cd "$debs" && apt-get "${opts[@]}" download -qq skopeo cosign \
      libc6 libgpgme11t64 libassuan9 libgpg-error0 libsqlite3-0) ||
      die "could not download cosign and skopeo from Debian trixie"
    local d
    for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$root"; done
    # Wrappers, so the test runs them like any binary.
    cat >"$dir/bin/skopeo" <<WRAP
#!/bin/sh
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$root/usr/bin/skopeo" "\$@"
WRAP
    cat >"$dir/bin/cosign" <<WRAP
#!/bin/sh
exec "$root/usr/bin/cosign" "\$@"
WRAP
    chmod +x "$dir/bin/skopeo" "$dir/bin/cosign"
    rm -rf "$apt"
  fi
  local d
  for d in "$dir"/debs/{skopeo,cosign}_*.deb; do
    say "peer: $(dpkg-deb -W --showformat='${Package} ${Version}' "$d") (Debian trixie)"
  done
  "$dir/bin/skopeo" --version >/dev/null || die "skopeo from trixie does not run here"
  HOME="${TMPDIR:-/tmp}" "$dir/bin/cosign" version >/dev/null 2>&1 || die "cosign from trixie does not run here"
}
