from clinic_shared.migrations import run_env

from screening.store.tables import metadata

run_env(metadata)
