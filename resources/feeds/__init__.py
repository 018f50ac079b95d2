"""Client data feeds: entitlements, validated delivery targets, deterministic files, manifests, a delivery log."""
