# The Rust-side tools the build needs, pinned to versions known to work together
# (see ARCHITECTURE.md, "Building"). Sourced after common.sh.

CARGO_LEPTOS_VERSION=0.3.10
# Must equal the `wasm-bindgen` pin in the workspace Cargo.toml.
WASM_BINDGEN_VERSION=0.2.130

ensure_rust_tools() {
  command -v cargo >/dev/null || die "cargo is not installed (install Rust with rustup first)"
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! rustup component list --installed 2>/dev/null | grep -q '^clippy'; then
    rustup component add clippy rustfmt
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    # cargo-leptos links OpenSSL.
    apt_install pkg-config libssl-dev build-essential
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 10 minutes, once per machine)"
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    # Not --locked: its lockfile names a crate version the registry lacks.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}
