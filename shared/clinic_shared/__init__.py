"""The library every clinic service uses. Import the modules you need; nothing runs at import."""
