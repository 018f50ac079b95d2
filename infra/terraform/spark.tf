# Spark for bulk backfills: an EMR Serverless application that costs nothing while idle. Jobs are submitted
# (by the daemon's role, or an operator) with the spark_job role as execution role; they read the whole lake and
# write silver/ and gold/ only. Delta Lake ships with the EMR release, so the native format("delta") path runs
# here (locally, Spark must go through delta-rs: DESIGN.md).
#
#   aws emr-serverless start-job-run --application-id <spark_application_id> \
#     --execution-role-arn <spark_job_role_arn> --job-driver '{"sparkSubmit": {"entryPoint": "<artifacts>/..."}}' \
#     --configuration-overrides '{"monitoringConfiguration": {"cloudWatchLoggingConfiguration":
#       {"enabled": true, "logGroupName": "<spark_log_group_name>"}}}'

resource "aws_emrserverless_application" "spark" {
  name          = "${local.name}-spark"
  type          = "spark"
  release_label = var.spark_release_label
  architecture  = var.spark_architecture

  maximum_capacity {
    cpu    = "${var.spark_max_vcpu} vCPU"
    memory = "${var.spark_max_memory_gb} GB"
    disk   = "${var.spark_max_disk_gb} GB"
  }

  auto_start_configuration {
    enabled = true
  }

  auto_stop_configuration {
    enabled              = true
    idle_timeout_minutes = var.spark_idle_timeout_minutes
  }

  # Workers run in the private subnets: S3 through the VPC (gateway endpoint or NAT), nothing inbound.
  network_configuration {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.spark.id]
  }
}

resource "aws_cloudwatch_log_group" "spark" {
  name              = "/aws/emr-serverless/${local.name}-spark"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.platform.arn
}
