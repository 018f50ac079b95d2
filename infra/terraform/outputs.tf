# --- What the application is configured with -------------------------------------------------------------------------

output "nexus_lake_uri" {
  description = "NEXUS_LAKE_URI of this deployment (s3://bucket/prefix)."
  value       = local.lake_uri
}

output "nexus_feeds_uri" {
  description = "Root of client deliveries; each client's files go under <this>/<client id>/."
  value       = local.feeds_uri
}

output "aws_region" {
  description = "AWS_REGION of this deployment."
  value       = local.region
}

output "container_environment" {
  description = "Non-secret environment the Dagster containers receive (for a matching local .env or a one-off task)."
  value       = local.dagster_environment
}

output "secret_arns" {
  description = "Secrets Manager ARNs by the environment variable they are injected as. Values are never output."
  value = merge(
    { for env_name, secret in aws_secretsmanager_secret.api_keys : env_name => secret.arn },
    { DAGSTER_PG_PASSWORD = aws_secretsmanager_secret.postgres_password.arn },
  )
}

# --- Storage ---------------------------------------------------------------------------------------------------------

output "lake_bucket_name" {
  description = "Lake bucket."
  value       = aws_s3_bucket.lake.id
}

output "feeds_bucket_name" {
  description = "Client data-feed bucket."
  value       = aws_s3_bucket.feeds.id
}

output "log_bucket_name" {
  description = "Access-log bucket (S3 server access logs under s3/, ALB logs under alb/)."
  value       = aws_s3_bucket.logs.id
}

output "lake_kms_key_arn" {
  description = "KMS key of the lake bucket (grant kms:Decrypt through S3 to any new reader, e.g. Athena)."
  value       = aws_kms_key.lake.arn
}

output "feeds_kms_key_arn" {
  description = "KMS key of the feeds bucket."
  value       = aws_kms_key.feeds.arn
}

# --- Dagster ---------------------------------------------------------------------------------------------------------

output "ecs_cluster_name" {
  description = "ECS cluster of the Dagster services."
  value       = aws_ecs_cluster.dagster.name
}

output "ecs_service_names" {
  description = "ECS services (for `aws ecs update-service --force-new-deployment`)."
  value = {
    webserver = aws_ecs_service.webserver.name
    daemon    = aws_ecs_service.daemon.name
  }
}

output "dagster_role_arns" {
  description = "IAM roles of the Dagster tasks."
  value = {
    execution = aws_iam_role.dagster_execution.arn
    daemon    = aws_iam_role.dagster_daemon.arn
    webserver = aws_iam_role.dagster_webserver.arn
  }
}

output "dagster_log_groups" {
  description = "CloudWatch log groups of the Dagster containers."
  value       = { for key, group in aws_cloudwatch_log_group.dagster : key => group.name }
}

output "postgres_endpoint" {
  description = "Host and port of the Dagster Postgres instance (private)."
  value       = "${aws_db_instance.dagster.address}:${aws_db_instance.dagster.port}"
}

output "dagster_ui_url" {
  description = "URL of the Dagster UI through the ALB (point a DNS name covered by the certificate at alb_dns_name), or null without ALB."
  value       = var.enable_alb ? "https://${aws_lb.dagster[0].dns_name}" : null
}

output "alb_dns_name" {
  description = "DNS name of the ALB, for a CNAME or alias record; null without ALB."
  value       = var.enable_alb ? aws_lb.dagster[0].dns_name : null
}

# --- Spark -----------------------------------------------------------------------------------------------------------

output "spark_application_id" {
  description = "EMR Serverless application id (start-job-run --application-id)."
  value       = aws_emrserverless_application.spark.id
}

output "spark_job_role_arn" {
  description = "Execution role for Spark jobs (start-job-run --execution-role-arn)."
  value       = aws_iam_role.spark_job.arn
}

output "spark_artifacts_uri" {
  description = "Where Spark job code and dependencies are uploaded."
  value       = local.spark_artifacts_uri
}

output "spark_image_repository_url" {
  description = "ECR repository of the custom EMR image (push infra/emr-image/Dockerfile's build here, then set spark_image_tag)."
  value       = aws_ecr_repository.spark_image.repository_url
}

output "spark_log_group_name" {
  description = "CloudWatch log group to name in a job's monitoringConfiguration."
  value       = aws_cloudwatch_log_group.spark.name
}
