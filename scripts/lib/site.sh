# Builds the site the way cargo-leptos would, with plain cargo and wasm-bindgen: the server binary
# (ssr), the WebAssembly half (hydrate) bound for the browser, the stylesheet and public/. This
# spares every fresh machine the cargo-leptos install, which took 10 to 30 minutes here, for
# four commands. Sourced after common.sh and tools.sh.
#
# Output, as the server expects it (server::router builds LeptosOptions with output name
# `trustwatch` and pkg dir `pkg`; Leptos asks for `<name>.wasm` when LEPTOS_OUTPUT_NAME is set at
# compile time, which cargo_like_leptos does):
#   target/site/            public/ copied as is
#   target/site/pkg/trustwatch.js, trustwatch.wasm, trustwatch.css
#   $CARGO_TARGET_DIR/debug/trustwatch

SITE_ROOT="$ROOT/target/site"

build_site() {
  local pkg="$SITE_ROOT/pkg"
  say "building the browser half (wasm32)"
  cargo_like_leptos build --locked -p frontend --lib --target wasm32-unknown-unknown
  # A fresh folder each time, so no file of an older build is served.
  rm -rf "$SITE_ROOT.new"
  mkdir -p "$SITE_ROOT.new/pkg"
  cp -R "$ROOT/public/." "$SITE_ROOT.new/"
  wasm-bindgen --target web --no-typescript --out-dir "$SITE_ROOT.new/pkg" --out-name trustwatch \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/debug/frontend.wasm"
  mv "$SITE_ROOT.new/pkg/trustwatch_bg.wasm" "$SITE_ROOT.new/pkg/trustwatch.wasm"
  cp "$ROOT/style/main.css" "$SITE_ROOT.new/pkg/trustwatch.css"
  rm -rf "$SITE_ROOT"
  mv "$SITE_ROOT.new" "$SITE_ROOT"
  say "building the server"
  cargo_like_leptos build --locked -p server --bin trustwatch
  [ -f "$pkg/trustwatch.js" ] && [ -f "$pkg/trustwatch.wasm" ] || die "the site in $SITE_ROOT is incomplete"
}
