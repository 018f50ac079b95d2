"""signals package."""
