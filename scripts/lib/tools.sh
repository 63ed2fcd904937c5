# The Rust-side tools the build needs, pinned to versions known to work together
# (see ARCHITECTURE.md, "Building"). Sourced after common.sh. cargo-leptos is not among them:
# scripts/lib/site.sh does its work with cargo and wasm-bindgen.

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
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once per machine)"
    # Not --locked: its lockfile names a crate version the registry lacks. Some of its
    # dependencies may link OpenSSL, depending on what the registry resolves.
    apt_install pkg-config libssl-dev build-essential
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}
