# Spark for bulk backfills: an EMR Serverless application that costs nothing while idle. Jobs are submitted
# (by the daemon's role, or an operator) with the spark_job role as execution role; they read the whole lake and
# write silver/ and gold/ only. Delta Lake ships with the EMR release, so the native format("delta") path runs
# here (locally, Spark must go through delta-rs: docs/architecture.md).
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

  # The custom image (infra/emr-image/Dockerfile): EMR's Spark and Delta plus the project (its parsers) and
  # dagster-pipes in their own interpreter. Without one, the application runs EMR's stock image.
  dynamic "image_configuration" {
    for_each = var.spark_image_tag == "" ? [] : [var.spark_image_tag]
    content {
      image_uri = "${aws_ecr_repository.spark_image.repository_url}:${image_configuration.value}"
    }
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

# --- the backfill job's artifacts and image ----------------------------------------------------------------------
# The entry point every backfill job run names (resources/spark/emr.py builds the request; the project itself is in
# the image). Re-uploaded whenever the file changes.
resource "aws_s3_object" "spark_entrypoint" {
  bucket     = local.lake_bucket_name
  key        = "${var.spark_artifacts_prefix}/entrypoint.py"
  source     = "${path.module}/../../resources/spark/entrypoint.py"
  etag       = filemd5("${path.module}/../../resources/spark/entrypoint.py")
  kms_key_id = aws_kms_key.lake.arn
}

# The custom EMR Serverless image: built from infra/emr-image/Dockerfile and pushed here by CI with an immutable tag
# (var.spark_image_tag), scanned on push and encrypted with the platform key.
resource "aws_ecr_repository" "spark_image" {
  name                 = "${local.name}-emr-spark"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.platform.arn
  }
}

# EMR Serverless pulls the image for this application only.
data "aws_iam_policy_document" "spark_image_pull" {
  statement {
    sid     = "EmrServerlessPull"
    effect  = "Allow"
    actions = ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "Service"
      identifiers = ["emr-serverless.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [aws_emrserverless_application.spark.arn]
    }
  }
}

resource "aws_ecr_repository_policy" "spark_image" {
  repository = aws_ecr_repository.spark_image.name
  policy     = data.aws_iam_policy_document.spark_image_pull.json
}
