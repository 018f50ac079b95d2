# Roles and what each may do:
#   dagster_execution  ECS agent: pull the image, write container logs, read the four container secrets.
#   dagster_daemon     task role of dagster-daemon, where sensors, schedules and every run execute (default run
#                      launcher): the lake prefix, the feeds prefix, compute logs, and submitting Spark jobs.
#   dagster_webserver  task role of dagster-webserver: read compute logs only (it launches nothing itself; runs
#                      are queued in Postgres and started by the daemon).
#   spark_job          EMR Serverless job runtime role: read the whole lake, write silver/ and gold/ only.
#   rds_monitoring     RDS enhanced monitoring.
# The application never receives static AWS keys: boto3, delta-rs and pyarrow pick up the task role.

locals {
  lake_bucket_arn  = aws_s3_bucket.lake.arn
  feeds_bucket_arn = aws_s3_bucket.feeds.arn
  lake_objects_arn = "${aws_s3_bucket.lake.arn}/${var.lake_prefix}/*"
  s3_via_service   = "s3.${local.region}.amazonaws.com"
}

# =====================================================================================================================
# Trust policies
# =====================================================================================================================

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

data "aws_iam_policy_document" "emr_serverless_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["emr-serverless.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_emrserverless_application.spark.arn]
    }
  }
}

data "aws_iam_policy_document" "rds_monitoring_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# =====================================================================================================================
# ECS task execution role
# =====================================================================================================================

resource "aws_iam_role" "dagster_execution" {
  name               = "${local.name}-dagster-execution"
  description        = "ECS task execution role of the Dagster services: image pull, logs, container secrets."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

resource "aws_iam_role_policy_attachment" "dagster_execution_managed" {
  role       = aws_iam_role.dagster_execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "dagster_execution" {
  statement {
    sid       = "ReadContainerSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([for secret in aws_secretsmanager_secret.api_keys : secret.arn], [aws_secretsmanager_secret.postgres_password.arn])
  }

  statement {
    sid       = "DecryptContainerSecrets"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "dagster_execution" {
  name   = "container-secrets"
  role   = aws_iam_role.dagster_execution.id
  policy = data.aws_iam_policy_document.dagster_execution.json
}

# =====================================================================================================================
# Dagster daemon task role (runs execute here)
# =====================================================================================================================

resource "aws_iam_role" "dagster_daemon" {
  name               = "${local.name}-dagster-daemon"
  description        = "Task role of dagster-daemon and the runs it launches: lake, client feeds, Spark job submission."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

data "aws_iam_policy_document" "dagster_daemon" {
  # --- Lake: list, read and write under the lake prefix; delete only where Delta tables live ---------------------
  statement {
    sid       = "ListLakeAndComputeLogPrefixes"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.lake_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        var.lake_prefix,
        "${var.lake_prefix}/*",
        var.compute_logs_prefix,
        "${var.compute_logs_prefix}/*",
      ]
    }
  }

  statement {
    sid    = "ReadWriteLakeObjects"
    effect = "Allow"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [local.lake_objects_arn]
  }

  statement {
    sid       = "DeleteDeltaTableObjects"
    effect    = "Allow"
    actions   = ["s3:DeleteObject"]
    resources = [for path in local.lake_deletable_paths : "${local.lake_bucket_arn}/${var.lake_prefix}/${path}/*"]
  }

  statement {
    sid       = "ReadWriteComputeLogs"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.lake_bucket_arn}/${var.compute_logs_prefix}/*"]
  }

  # --- Client feeds: everything under the feeds prefix (per-client folders below it) ----------------------------
  statement {
    sid       = "ListFeedsPrefix"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.feeds_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.feeds_prefix, "${var.feeds_prefix}/*"]
    }
  }

  statement {
    sid    = "ReadWriteDeleteFeedObjects"
    effect = "Allow"
    # GetObject is also what a presigned download URL signed by this role is allowed to do.
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${local.feeds_bucket_arn}/${var.feeds_prefix}/*"]
  }

  # --- KMS: only through S3, only the two bucket keys ------------------------------------------------------------
  statement {
    sid       = "UseBucketKeysThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.lake.arn, aws_kms_key.feeds.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }
  }

  # --- Spark backfills: submit and follow jobs on the one EMR Serverless application -----------------------------
  statement {
    sid    = "RunSparkBackfills"
    effect = "Allow"
    actions = [
      "emr-serverless:GetApplication",
      "emr-serverless:StartApplication",
      "emr-serverless:StartJobRun",
      "emr-serverless:GetJobRun",
      "emr-serverless:ListJobRuns",
      "emr-serverless:CancelJobRun",
      "emr-serverless:GetDashboardForJobRun",
    ]
    resources = [aws_emrserverless_application.spark.arn, "${aws_emrserverless_application.spark.arn}/jobruns/*"]
  }

  statement {
    sid       = "PassSparkJobRole"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.spark_job.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["emr-serverless.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "dagster_daemon" {
  name   = "nexus-runs"
  role   = aws_iam_role.dagster_daemon.id
  policy = data.aws_iam_policy_document.dagster_daemon.json
}

# =====================================================================================================================
# Dagster webserver task role
# =====================================================================================================================

resource "aws_iam_role" "dagster_webserver" {
  name               = "${local.name}-dagster-webserver"
  description        = "Task role of dagster-webserver: reads captured compute logs, nothing else."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

data "aws_iam_policy_document" "dagster_webserver" {
  statement {
    sid       = "ListComputeLogs"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.lake_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.compute_logs_prefix, "${var.compute_logs_prefix}/*"]
    }
  }

  statement {
    sid       = "ReadComputeLogs"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${local.lake_bucket_arn}/${var.compute_logs_prefix}/*"]
  }

  statement {
    sid       = "DecryptThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.lake.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }
  }
}

resource "aws_iam_role_policy" "dagster_webserver" {
  name   = "compute-logs-read"
  role   = aws_iam_role.dagster_webserver.id
  policy = data.aws_iam_policy_document.dagster_webserver.json
}

# =====================================================================================================================
# Spark (EMR Serverless) job runtime role
# =====================================================================================================================

resource "aws_iam_role" "spark_job" {
  name               = "${local.name}-spark-job"
  description        = "EMR Serverless job runtime role: read the lake, write silver and gold."
  assume_role_policy = data.aws_iam_policy_document.emr_serverless_trust.json
}

data "aws_iam_policy_document" "spark_job" {
  statement {
    sid       = "ListLakeAndArtifacts"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.lake_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        var.lake_prefix,
        "${var.lake_prefix}/*",
        var.spark_artifacts_prefix,
        "${var.spark_artifacts_prefix}/*",
      ]
    }
  }

  statement {
    sid       = "ReadLakeAndArtifacts"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [local.lake_objects_arn, "${local.lake_bucket_arn}/${var.spark_artifacts_prefix}/*"]
  }

  statement {
    sid    = "WriteSilverAndGold"
    effect = "Allow"
    actions = [
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [for zone in local.spark_writable_zones : "${local.lake_bucket_arn}/${var.lake_prefix}/${zone}/*"]
  }

  statement {
    sid       = "UseLakeKeyThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.lake.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }
  }

  statement {
    sid    = "WriteJobLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
    ]
    resources = ["${aws_cloudwatch_log_group.spark.arn}:*"]
  }

  statement {
    sid       = "FindJobLogGroup"
    effect    = "Allow"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
  }
}

resource "aws_iam_role_policy" "spark_job" {
  name   = "lake-backfill"
  role   = aws_iam_role.spark_job.id
  policy = data.aws_iam_policy_document.spark_job.json
}

# =====================================================================================================================
# RDS enhanced monitoring
# =====================================================================================================================

resource "aws_iam_role" "rds_monitoring" {
  name               = "${local.name}-rds-monitoring"
  description        = "Publishes RDS enhanced monitoring metrics of the Dagster database."
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_trust.json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}
