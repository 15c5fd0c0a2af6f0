"""Agent console: accounts (argon2 passwords), login sessions, notes and call outcomes."""
