# Shared helpers for scripts/run and scripts/test. Sourced, not executed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT

# Cargo's build output lives outside the checkout, so a fresh clone (as CI makes) reuses it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trustwatch/target}"
# Every cargo call gets the flags a Leptos debug build needs (the same cargo-leptos would use), so
# clippy, tests and the site build share one set of compiled crates and the server binary always
# names the browser files that scripts/lib/site.sh writes (`trustwatch.js`, `trustwatch.wasm`).
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

# Prints a TCP port on 127.0.0.1 that nothing listens on, starting from a random one in
# [$1, $1 + 500): other services on the machine (epmd on 4369, say) must not be taken for ours.
free_port() {
  local port=$(($1 + RANDOM % 500))
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  printf '%s\n' "$port"
}
