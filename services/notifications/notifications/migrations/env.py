from clinic_shared.migrations import run_env
from notifications.store.tables import make_tables

run_env(make_tables().metadata)
