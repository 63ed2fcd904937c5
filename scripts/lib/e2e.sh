# The end-to-end run shared by scripts/test and scripts/e2e: a fresh database seeded like a
# demo, the built server on a free port, and Playwright in Debian's Chromium. Sourced after
# common.sh, postgres.sh and site.sh; expects DATABASE_URL (ensure_database) and a built site.

E2E_SERVER_PID=""

stop_e2e_server() {
  if [ -n "$E2E_SERVER_PID" ]; then
    kill "$E2E_SERVER_PID" 2>/dev/null && wait "$E2E_SERVER_PID" 2>/dev/null
    E2E_SERVER_PID=""
  fi
  return 0
}

# Runs Playwright with the given arguments (spec files, --grep …; none means every spec).
run_end_to_end() {
  (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  local e2e_url bin="$CARGO_TARGET_DIR/debug/trustwatch" port
  # One database per checkout, so two checkouts on one machine do not drop each other's.
  e2e_url="$(fresh_database_url "$DATABASE_URL" "trustwatch_e2e_$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)")"
  export E2E_ADMIN_EMAIL="admin@example.org" E2E_ADMIN_PASSWORD="e2e-admin-password-1"
  export E2E_USER_PASSWORD="e2e-user-password-1"
  port="$(free_port 3100)"
  export E2E_BASE_URL="http://127.0.0.1:$port"
  (
    export DATABASE_URL="$e2e_url" TRUSTWATCH_LISTEN="127.0.0.1:$port" TRUSTWATCH_SITE_ROOT="$SITE_ROOT"
    TRUSTWATCH_ADMIN_EMAIL="$E2E_ADMIN_EMAIL" TRUSTWATCH_ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD" "$bin" admin bootstrap
    # One person per role (end2end/tests/support.ts logs in as them): <role>@example.org, plus a
    # second security engineer for two-person approvals.
    local who
    for who in developer:developer security:security security2:security viewer:viewer auditor:auditor; do
      printf '%s\n' "$E2E_USER_PASSWORD" | "$bin" admin create-user --email "${who%%:*}@example.org" --role "${who#*:}" >/dev/null
    done
    "$bin" demo
  )
  mkdir -p "$ROOT/target"
  DATABASE_URL="$e2e_url" TRUSTWATCH_LISTEN="127.0.0.1:$port" TRUSTWATCH_SITE_ROOT="$SITE_ROOT" \
    "$bin" serve >"$ROOT/target/e2e-server.log" 2>&1 &
  E2E_SERVER_PID=$!
  local _
  for _ in $(seq 1 60); do
    curl -fsS "$E2E_BASE_URL/readyz" >/dev/null 2>&1 && break
    sleep 0.5
  done
  curl -fsS "$E2E_BASE_URL/readyz" >/dev/null ||
    { cat "$ROOT/target/e2e-server.log"; die "the server did not become ready"; }
  # Playwright empties end2end/test-results at its start; the server's log lives in target/.
  (cd "$ROOT/end2end" && npx playwright test "$@")
  stop_e2e_server
}
