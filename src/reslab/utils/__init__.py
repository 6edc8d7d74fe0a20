"""Small shared helpers: errors, atomic file writes, progress reporting, environment facts."""
