"""Client data-feed deliveries as a Dagster asset (logic in resources/feeds)."""
