"""The notifications database: messages, a small projection of bookings, outbox and inbox."""
