# Shared lookups and names. Resources live in files named after their concern:
#   kms.tf       customer-managed keys (lake, feeds, platform)
#   storage.tf   lake bucket, client-feeds bucket, access-log bucket
#   iam.tf       Dagster task roles, ECS execution role, Spark job role, RDS monitoring role
#   secrets.tf   publisher API keys and the Postgres password in Secrets Manager
#   network.tf   security groups
#   database.tf  RDS Postgres for Dagster instance storage
#   dagster.tf   ECS cluster, task definitions, services, log groups
#   alb.tf       optional HTTPS load balancer for dagster-webserver
#   spark.tf     EMR Serverless application for bulk backfills

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name       = "${var.name}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = var.aws_region

  tags = merge(
    {
      Project     = "nexus"
      Environment = var.environment
      ManagedBy   = "terraform"
    },
    var.tags,
  )

  # --- Buckets and URIs ----------------------------------------------------------------------------------------------
  lake_bucket_name  = coalesce(var.lake_bucket_name, "${local.name}-lake-${local.account_id}")
  feeds_bucket_name = coalesce(var.feeds_bucket_name, "${local.name}-feeds-${local.account_id}")
  log_bucket_name   = coalesce(var.log_bucket_name, "${local.name}-access-logs-${local.account_id}")

  # What the application is configured with (README.md, "How the settings map").
  lake_uri            = "s3://${local.lake_bucket_name}/${var.lake_prefix}"
  feeds_uri           = "s3://${local.feeds_bucket_name}/${var.feeds_prefix}"
  compute_logs_uri    = "s3://${local.lake_bucket_name}/${var.compute_logs_prefix}"
  spark_artifacts_uri = "s3://${local.lake_bucket_name}/${var.spark_artifacts_prefix}"

  # Zones under the lake root, as in resources/lake/storage.py (ZONES).
  lake_zones = ["bronze", "silver", "gold", "quarantine"]

  # Paths under the lake root where objects may be deleted. Delta tables need deletes (vacuum, expired-log
  # cleanup, gold partition rewrites); bronze raw payloads are immutable, so of bronze only its manifest
  # (a Delta table) is listed.
  lake_deletable_paths = ["silver", "gold", "quarantine", "bronze/_manifest"]

  # Zones whose superseded object versions expire. Bronze is deliberately absent: any version of a raw payload,
  # even one overwritten or deleted by mistake, is kept forever.
  lake_expiring_zones = ["silver", "gold", "quarantine"]

  # Zones Spark backfills write to (the Spark role reads the whole lake).
  spark_writable_zones = ["silver", "gold"]

  # --- Secrets -------------------------------------------------------------------------------------------------------
  # Publisher credentials, by the environment variable the application reads (resources/settings.py). Each
  # becomes the secret <name>-<environment>/<lower-case-name>; values are set out of band, never in Terraform.
  api_key_env_names = toset(["FRED_API_KEY", "EIA_API_KEY", "CFTC_APP_TOKEN"])

  # --- Dagster -------------------------------------------------------------------------------------------------------
  postgres_db_name  = "dagster"
  postgres_username = "dagster"
  webserver_port    = 3000
  code_server_port  = 4266 # the daemon task's loopback port, the one deploy/daemon_workspace.yaml (in the image) names
}
