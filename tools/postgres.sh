#!/usr/bin/env bash
# A private, throw-away PostgreSQL server for the ledger tests (Debian's `postgresql` package).
#
#   tools/postgres.sh start   [DIR]   install the server if missing, create/start the cluster in DIR;
#                                     prints the SQLAlchemy URL as the only line on stdout
#   tools/postgres.sh stop    [DIR]   stop the cluster (pg_ctl stop -m fast), keep DIR
#   tools/postgres.sh destroy [DIR]   stop the cluster and remove DIR
#
# DIR defaults to .pgdata in the project root (gitignored). When run as root the cluster belongs to
# and runs as the `postgres` system user (initdb and pg_ctl refuse root); if that user cannot reach
# the project root (e.g. a checkout under /root, mode 700), the default becomes
# /tmp/deptoken-pg-<hash of the project root> instead. An explicit DIR must be reachable by it.
#
# The server listens on 127.0.0.1 only (no IPv6, no other interface), port $DEPTOKEN_PG_PORT or the
# one this cluster used before or 55432; its unix socket lives in DIR (mode 700). fsync is off.
# Roles: superuser `postgres` and the test role `deptoken` (owner of database deptoken_test, may
# CREATEDB), both with random passwords kept in DIR; TCP logins need the password
# (scram-sha-256), only the socket in DIR is `trust`. Diagnostics go to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DB=deptoken_test
ROLE=deptoken
SUPERUSER=postgres
DEFAULT_PORT=55432
MARKER=DEPTOKEN-TEST-CLUSTER   # file in DIR: marks DIR as ours (destroy removes only such DIRs)

log() { echo "postgres.sh: $*" >&2; }
die() { echo "postgres.sh: error: $*" >&2; exit 1; }
usage() { echo "usage: tools/postgres.sh start|stop|destroy [DIR]" >&2; exit 2; }

IS_ROOT=0; [ "$(id -u)" = 0 ] && IS_ROOT=1

# ---------------------------------------------------------------- binaries / installation
BINDIR=
find_bindir() {   # newest /usr/lib/postgresql/<v>/bin with a server, else one on PATH
  local d
  BINDIR=
  while IFS= read -r d; do
    [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && BINDIR=$d
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
  if [ -z "$BINDIR" ] && d=$(command -v pg_ctl 2>/dev/null); then
    d=$(dirname "$d")
    [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && BINDIR=$d
  fi
  [ -n "$BINDIR" ]
}

apt_install() {   # apt_install SUDO PKG...: without apt-get update first, with it if that fails
  local sudo=$1; shift
  local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300
                install --no-install-recommends "$@")
  $sudo "${apt[@]}" >&2 && return 0
  log "apt-get install $* failed; running apt-get update and retrying"
  $sudo apt-get -q -o DPkg::Lock::Timeout=300 update >&2 || die "apt-get update failed (no reachable Debian package mirror?)"
  $sudo "${apt[@]}" >&2 || die "apt-get install $* failed"
}

install_server() {
  command -v apt-get >/dev/null 2>&1 \
    || die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found and apt-get is not available: install a PostgreSQL server yourself"
  local sudo=
  if [ "$IS_ROOT" = 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin and installing them needs root: run 'sudo apt-get install postgresql' (or run this script as root)"
    fi
  fi
  log "PostgreSQL server not installed; installing Debian's postgresql package with apt-get"
  # Keep the package from creating and starting its own 'main' cluster on localhost:5432 (as the
  # official postgres Docker image does): only our private cluster should run.
  local conf=/etc/postgresql-common/createcluster.conf
  [ -f "$conf" ] || apt_install "$sudo" postgresql-common
  if [ -f "$conf" ] && ! compgen -G '/etc/postgresql/*/*/postgresql.conf' >/dev/null; then
    $sudo sed -ri 's/^[#[:space:]]*(create_main_cluster)[[:space:]]*=.*$/\1 = false/' "$conf" \
      && log "set create_main_cluster = false in $conf"
  fi
  apt_install "$sudo" postgresql
  find_bindir || die "apt-get installed postgresql but no server binaries were found under /usr/lib/postgresql/*/bin"
}

pg_major() { "$1/pg_ctl" --version | sed -nE 's/^pg_ctl \(PostgreSQL\) ([0-9]+).*/\1/p'; }

bindir_for_cluster() {   # the cluster in $DATA needs the server of its own major version
  local v; v=$(cat "$DATA/PG_VERSION")
  if [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then BINDIR=/usr/lib/postgresql/$v/bin; return 0; fi
  if [ -n "$BINDIR" ] && [ "$(pg_major "$BINDIR")" = "$v" ]; then return 0; fi
  return 1
}

# ---------------------------------------------------------------- DIR and its owner
abspath() {
  local p=$1
  case $p in /*) ;; *) p=$PWD/$p ;; esac
  while [ "${#p}" -gt 1 ] && [ "${p%/}" != "$p" ]; do p=${p%/}; done
  printf '%s\n' "$p"
}

fallback_dir() { echo "/tmp/deptoken-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-10)"; }

resolve_dir() {   # resolve_dir CMD [DIR]: sets DIR (absolute)
  local cmd=$1
  if [ $# -ge 2 ]; then
    [ -n "$2" ] || die "DIR must not be empty"
    DIR=$(abspath "$2"); return
  fi
  DIR=$ROOT/.pgdata
  [ "$IS_ROOT" = 1 ] || return 0
  [ -f "$DIR/$MARKER" ] && return 0
  local fb; fb=$(fallback_dir)
  if [ "$cmd" = start ]; then
    if ! runuser -u "$SUPERUSER" -- test -x "$ROOT" 2>/dev/null; then
      log "the $SUPERUSER user cannot reach $ROOT (a parent directory is not searchable); using $fb instead of $DIR"
      DIR=$fb
      if [ -L "$DIR" ] || { [ -e "$DIR" ] && [ "$(stat -c %U -- "$DIR")" != "$SUPERUSER" ]; }; then
        die "$DIR exists but is not a directory owned by $SUPERUSER; remove it or pass a DIR"
      fi
    fi
  elif [ -f "$fb/$MARKER" ]; then
    DIR=$fb
  fi
}

OWNER=
as_owner() {   # run a command as the cluster owner
  if [ "$IS_ROOT" = 1 ]; then runuser -u "$OWNER" -- "$@"; else "$@"; fi
}

set_owner() {   # OWNER: who owns (or will own) the cluster in $DIR
  local o=
  [ -e "$DIR" ] && o=$(stat -c %U -- "$DIR")
  if [ "$IS_ROOT" = 1 ]; then
    if [ -n "$o" ] && [ "$o" != root ]; then OWNER=$o; else OWNER=$SUPERUSER; fi
    id -u "$OWNER" >/dev/null 2>&1 || die "system user '$OWNER' does not exist (it comes with Debian's postgresql package)"
    command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) not found; it is needed to run PostgreSQL as '$OWNER'"
  else
    OWNER=$(id -un)
    if [ -n "$o" ] && [ "$o" != "$OWNER" ]; then
      die "$DIR belongs to '$o', not to you ('$OWNER'); use another DIR or run as '$o' or root"
    fi
  fi
}

prepare_dir() {   # create/adopt DIR for the cluster owner and lock it (fd 9)
  case $DIR in *[\'\"\\]* | *$'\n'*) die "DIR must not contain quotes, backslashes or newlines: $DIR" ;; esac
  local created=0
  if [ -e "$DIR" ] && [ ! -d "$DIR" ]; then die "$DIR exists and is not a directory"; fi
  if [ ! -d "$DIR" ]; then
    mkdir -p -- "$DIR" || die "cannot create $DIR"
    created=1
    trap 'forget_new_dir $?' EXIT   # a start that fails before initdb leaves no DIR behind
  fi
  if [ ! -f "$DIR/$MARKER" ] && [ -n "$(ls -A -- "$DIR")" ]; then
    die "$DIR is not empty and not a cluster made by this script; choose another DIR"
  fi
  if [ "$IS_ROOT" = 1 ] && [ "$(stat -c %U -- "$DIR")" != "$OWNER" ]; then chown -- "$OWNER:" "$DIR"; fi
  if [ ! -f "$DIR/$MARKER" ]; then chmod 700 -- "$DIR"; fi
  if ! as_owner test -w "$DIR" -a -x "$DIR" 2>/dev/null; then
    if [ "$created" = 1 ]; then rmdir -- "$DIR" 2>/dev/null || true; fi
    die "user '$OWNER' cannot reach $DIR (a parent directory is not searchable by it); choose a DIR under /tmp"
  fi
  if command -v flock >/dev/null 2>&1; then   # concurrent starts (e.g. pytest-xdist workers) wait here
    exec 9<"$DIR"
    flock -w 120 9 || die "timed out waiting for another tools/postgres.sh on $DIR"
  fi
  if [ ! -f "$DIR/$MARKER" ]; then
    echo "Throw-away PostgreSQL test cluster of tools/postgres.sh; remove it with: tools/postgres.sh destroy $DIR" > "$DIR/$MARKER"
    owned_by_owner "$DIR/$MARKER"
  fi
}

forget_new_dir() {
  if [ "$1" != 0 ] && [ ! -e "$DIR/data" ] && [ -f "$DIR/$MARKER" ]; then rm -rf -- "$DIR"; fi
}

owned_by_owner() { if [ "$IS_ROOT" = 1 ]; then chown -- "$OWNER:" "$@"; fi; }

new_secret() {   # new_secret FILE: 32 hex characters, readable by the owner only
  [ -s "$1" ] && return 0
  (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$1")
  owned_by_owner "$1"
}

# ---------------------------------------------------------------- cluster state
is_running() {
  [ -f "$DATA/postmaster.pid" ] && as_owner "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

url() { echo "postgresql+psycopg://$ROLE:$(cat "$DIR/$ROLE.password")@127.0.0.1:$1/$DB"; }

run_quiet() {   # run_quiet WHAT CMD...: show the command's output only if it fails
  local what=$1 out; shift
  if ! out=$("$@" 2>&1 9<&-); then
    log "$what failed:"
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# ---------------------------------------------------------------- subcommands
cmd_start() {
  find_bindir || install_server
  resolve_dir start "$@"
  cd /   # the owner may not be able to enter the caller's working directory
  set_owner
  prepare_dir
  DATA=$DIR/data

  if [ -f "$DATA/PG_VERSION" ]; then
    bindir_for_cluster || die "the cluster in $DIR was made by PostgreSQL $(cat "$DATA/PG_VERSION"), whose server is not installed; run: tools/postgres.sh destroy $DIR"
    if is_running; then
      local port; port=$(sed -n 4p "$DATA/postmaster.pid")
      log "already running in $DIR on 127.0.0.1:$port"
      url "$port"; return 0
    fi
  elif [ -e "$DATA" ]; then
    die "$DATA is not a PostgreSQL cluster (interrupted start?); run: tools/postgres.sh destroy $DIR"
  fi

  local port=${DEPTOKEN_PG_PORT:-}
  if [ -z "$port" ] && [ -f "$DATA/deptoken.conf" ]; then
    port=$(sed -nE 's/^port = ([0-9]+)$/\1/p' "$DATA/deptoken.conf")
  fi
  port=${port:-$DEFAULT_PORT}
  case $port in '' | *[!0-9]*) die "invalid port '$port'" ;; esac
  if port_in_use "$port"; then
    die "port $port on 127.0.0.1 is already in use by another process (not the cluster in $DIR); free it or set DEPTOKEN_PG_PORT to a free port"
  fi

  if [ ! -f "$DATA/PG_VERSION" ]; then
    new_secret "$DIR/$SUPERUSER.password"
    new_secret "$DIR/$ROLE.password"
    log "creating a PostgreSQL $("$BINDIR/pg_ctl" --version | awk '{print $3}') cluster in $DIR (owner $OWNER)"
    run_quiet initdb as_owner "$BINDIR/initdb" -D "$DATA" -U "$SUPERUSER" --pwfile="$DIR/$SUPERUSER.password" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale --no-sync \
      || die "initdb failed for $DATA"
    echo "include_if_exists = 'deptoken.conf'" >> "$DATA/postgresql.conf"
  fi

  # Socket file path must fit in sun_path (107 bytes); otherwise go without a unix socket (we use TCP).
  local sockdirs="\"$DIR\""
  if [ $(( ${#DIR} + ${#port} + 10 )) -gt 107 ]; then
    log "$DIR is too long a path for a unix socket; the cluster gets TCP (127.0.0.1) only"
    sockdirs=
  fi
  cat > "$DATA/deptoken.conf" <<EOF
# Written by tools/postgres.sh on every start: throw-away test cluster, 127.0.0.1 only, no durability.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdirs'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  owned_by_owner "$DATA/deptoken.conf"

  log "starting PostgreSQL on 127.0.0.1:$port (log: $DIR/postgresql.log)"
  if ! run_quiet pg_ctl as_owner "$BINDIR/pg_ctl" start -D "$DATA" -l "$DIR/postgresql.log" -w -t 60; then
    tail -n 20 "$DIR/postgresql.log" >&2 2>/dev/null || true
    die "the PostgreSQL server in $DIR did not start (see $DIR/postgresql.log)"
  fi

  local psql=$BINDIR/psql
  [ -x "$psql" ] || psql=$(command -v psql) || die "psql not found"
  PGPASSWORD=$(cat "$DIR/$SUPERUSER.password") PGSSLMODE=disable \
  "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres >&2 <<SQL \
    || die "could not create role $ROLE / database $DB"
SELECT 'CREATE ROLE $ROLE' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') \gexec
ALTER ROLE $ROLE WITH LOGIN CREATEDB PASSWORD '$(cat "$DIR/$ROLE.password")';
SELECT 'CREATE DATABASE $DB OWNER $ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB') \gexec
SQL
  url "$port"
}

stop_cluster() {   # returns 0 when no server is running afterwards
  DATA=$DIR/data
  if [ ! -f "$DATA/PG_VERSION" ]; then log "no cluster in $DIR"; return 0; fi
  find_bindir || true
  if ! bindir_for_cluster; then
    local pid; pid=$(head -n1 "$DATA/postmaster.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      die "a server is running in $DIR but its PostgreSQL $(cat "$DATA/PG_VERSION") pg_ctl is not installed; stop process $pid yourself"
    fi
    log "not running: $DIR"; return 0
  fi
  if ! is_running; then log "not running: $DIR"; return 0; fi
  run_quiet pg_ctl as_owner "$BINDIR/pg_ctl" stop -D "$DATA" -m fast -w -t 60 || die "pg_ctl stop failed for $DIR"
  log "stopped: $DIR"
}

cmd_stop() {
  resolve_dir stop "$@"
  cd /
  [ -d "$DIR" ] || { log "no cluster in $DIR"; return 0; }
  set_owner
  stop_cluster
}

cmd_destroy() {
  resolve_dir destroy "$@"
  cd /
  [ -e "$DIR" ] || { log "nothing to destroy: $DIR does not exist"; return 0; }
  [ -d "$DIR" ] || die "$DIR is not a directory"
  if [ ! -f "$DIR/$MARKER" ] && [ -n "$(ls -A -- "$DIR")" ]; then
    die "$DIR is not a cluster made by this script (no $MARKER file); not removing it"
  fi
  set_owner
  stop_cluster
  rm -rf -- "$DIR" || die "could not remove $DIR"
  log "removed: $DIR"
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
cmd=$1; shift
case $cmd in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  destroy) cmd_destroy "$@" ;;
  *) usage ;;
esac
