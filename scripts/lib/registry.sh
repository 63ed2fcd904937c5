# A real OCI registry for the registry client's integration tests (service/tests/registry.rs):
# Debian's `docker-registry` (distribution 2.8), which each test starts on a free port of its own,
# and `openssl`, which makes the tests' TLS and token-signing certificates. Sourced after
# common.sh.

ensure_registry_tools() {
  if ! command -v docker-registry >/dev/null; then
    apt_install docker-registry
    command -v docker-registry >/dev/null ||
      die "docker-registry is installed but not on PATH (expected /usr/bin/docker-registry)"
  fi
  command -v openssl >/dev/null || apt_install openssl
  # The package may also start a system-wide registry on :5000; the tests do not use it.
  return 0
}
