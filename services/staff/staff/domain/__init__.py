"""The staff service's rules as plain functions: passwords, session tokens, the sign-in lock."""
