# Shared helpers for scripts/*.sh (sourced, not run).

# Installs Debian packages whose command is missing: ensure_apt <command> <package>...
ensure_apt() {
  local cmd="$1"; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  echo "==> installing $* (for $cmd)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; }
}

# Adds a rustup target if it is missing.
ensure_rust_target() {
  rustup target list --installed | grep -qx "$1" || rustup target add "$1"
}
