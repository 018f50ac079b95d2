"""marts package."""
