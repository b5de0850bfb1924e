from clinic_shared.migrations import run_env

from booking.store.tables import metadata

run_env(metadata)
