# Shared helpers for scripts/run and scripts/test. Sourced, not executed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT

# Cargo's build output lives outside the checkout, so a fresh clone (as CI makes) reuses it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trustwatch/target}"
# Plain cargo calls (clippy, tests) get the flags cargo-leptos builds with, so nothing is built
# twice and no plain build overwrites the server binary with one whose pages never hydrate. Not
# exported: cargo-leptos appends its own flags to RUSTFLAGS, and doubled flags rebuild everything.
cargo_like_leptos() {
  RUSTFLAGS="--cfg erase_components" LEPTOS_OUTPUT_NAME="trustwatch" cargo "$@"
}

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs Debian packages that are missing (checked with dpkg, so it is quick when all are there).
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    { as_root apt-get update >/dev/null && as_root apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
    die "could not install ${missing[*]}"
}
