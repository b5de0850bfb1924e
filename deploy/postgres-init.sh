#!/bin/sh
# One PostgreSQL role per service, owning its own database and nothing else (README "Deployment"). The postgres
# image runs this once, on its first start, as the superuser (docker-entrypoint-initdb.d). By hand, against a
# server of your own:
#   PGHOST=db.example PGUSER=postgres CLINIC_SCREENING_DB_PASSWORD=... (one per service) sh deploy/postgres-init.sh
# Each service's password comes from CLINIC_<SERVICE>_DB_PASSWORD. CLINIC_DB_NAME_PREFIX (default none) goes
# before every role's and database's name (the tests use it for names of their own).
set -eu
for service in screening booking notifications staff; do
    name="${CLINIC_DB_NAME_PREFIX:-}$service"
    variable="CLINIC_$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
    password=$(printenv "$variable") || { echo "postgres-init.sh: set $variable" >&2; exit 1; }
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${PGUSER:-${POSTGRES_USER:-postgres}}" \
        --dbname "${POSTGRES_DB:-postgres}" -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
-- Only its owner (and the superuser) may connect: PUBLIC may by default, so every other service's role could.
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
done
