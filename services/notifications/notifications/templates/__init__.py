"""Message templates: `<kind>.txt` is a "Subject: …" line, a blank line, then the plain-text body."""
