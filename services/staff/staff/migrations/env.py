from clinic_shared.migrations import run_env

from staff.store.tables import metadata

run_env(metadata)
