# Sourced by the bench scripts: a scratch database on the local PostgreSQL.

psql() { command psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qX "$@"; }

# Creates the database "$1" and drops it however the script ends (WITH (FORCE) ends the
# connections a killed server left behind). PostgreSQL must be up; this never starts it.
scratch_database() {
  psql -c "CREATE DATABASE $1"
  # Expanded now, on purpose: the trap runs after the caller's locals are gone.
  # shellcheck disable=SC2064
  trap "psql -c 'DROP DATABASE IF EXISTS $1 WITH (FORCE)'" EXIT
}
