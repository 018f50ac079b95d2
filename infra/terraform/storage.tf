# Three buckets, each versioned, encrypted, private (public access blocked, ACLs disabled) and TLS-only:
#   lake   NEXUS_LAKE_URI = s3://<lake>/<lake_prefix>, zones bronze/ silver/ gold/ quarantine/ below it;
#          also Spark job artifacts and Dagster compute logs, each under its own prefix outside the lake root.
#   feeds  client data-feed deliveries, one prefix per client: s3://<feeds>/<feeds_prefix>/<client id>/...
#   logs   S3 server access logs of the two buckets above, and the ALB's access logs.
#
# Delta Lake on S3 (delta-rs 1.x) commits with conditional PUTs (If-None-Match): no DynamoDB lock table is
# created or needed. Writers send no encryption headers; bucket default encryption applies SSE-KMS.

# =====================================================================================================================
# Lake bucket
# =====================================================================================================================

resource "aws_s3_bucket" "lake" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery decision with its own cost; bronze can be re-derived only from the publishers, so enable it with a replica bucket when the RPO requires it.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications: Dagster schedules and sensors drive the pipeline.
  bucket = local.lake_bucket_name

  lifecycle {
    prevent_destroy = true # the lake, and bronze in particular, is not reproducible
  }
}

resource "aws_s3_bucket_ownership_controls" "lake" {
  bucket = aws_s3_bucket.lake.id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs disabled: access is decided by IAM and the bucket policy only
  }
}

resource "aws_s3_bucket_public_access_block" "lake" {
  bucket                  = aws_s3_bucket.lake.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "lake" {
  bucket = aws_s3_bucket.lake.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.lake.arn
    }
    bucket_key_enabled = true # one KMS call per bucket key instead of per object: Delta writes many small files
  }
}

resource "aws_s3_bucket_logging" "lake" {
  bucket        = aws_s3_bucket.lake.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${local.lake_bucket_name}/"

  target_object_key_format {
    partitioned_prefix {
      partition_date_source = "EventTime"
    }
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id

  # Objects under 128 KB (Delta commit files, checkpoints of small tables) never transition.
  transition_default_minimum_object_size = "all_storage_classes_128K"

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Bronze: raw payloads as received, the only copy of what a publisher showed. They may move to a cheaper
  # storage class with millisecond reads, and are never deleted: this rule has no expiration of any kind, no
  # other rule covers bronze/, and the bucket policy refuses permanent deletes of bronze object versions.
  rule {
    id     = "bronze-transition-never-expire"
    status = "Enabled"

    filter {
      prefix = "${var.lake_prefix}/bronze/"
    }

    transition {
      days          = var.bronze_transition_days
      storage_class = var.bronze_transition_storage_class
    }

    noncurrent_version_transition {
      noncurrent_days = var.bronze_transition_days
      storage_class   = var.bronze_transition_storage_class
    }
  }

  # Silver, gold, quarantine: Delta tables manage their own history (time travel, vacuum); the S3 versions of
  # files they rewrite or vacuum are only a safety net and expire.
  dynamic "rule" {
    for_each = toset(local.lake_expiring_zones)

    content {
      id     = "${rule.value}-expire-noncurrent-versions"
      status = "Enabled"

      filter {
        prefix = "${var.lake_prefix}/${rule.value}/"
      }

      noncurrent_version_expiration {
        noncurrent_days = var.noncurrent_version_retention_days
      }

      expiration {
        expired_object_delete_marker = true
      }
    }
  }

  rule {
    id     = "spark-artifacts-expire-noncurrent-versions"
    status = "Enabled"

    filter {
      prefix = "${var.spark_artifacts_prefix}/"
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
  }

  rule {
    id     = "compute-logs-expire"
    status = "Enabled"

    filter {
      prefix = "${var.compute_logs_prefix}/"
    }

    expiration {
      days = var.log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.lake]
}

data "aws_iam_policy_document" "lake_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.lake.arn, "${aws_s3_bucket.lake.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyOutdatedTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.lake.arn, "${aws_s3_bucket.lake.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }

  # Writers normally send no encryption header and get the bucket default (SSE-KMS with the lake key). A header
  # asking for anything else (SSE-S3, another KMS key) is refused. Requests without the header are not denied:
  # delta-rs and pyarrow do not send it.
  statement {
    sid       = "DenyOtherEncryption"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.lake.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Null"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["false"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
  }

  statement {
    sid       = "DenyOtherKmsKeys"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.lake.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Null"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = ["false"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [aws_kms_key.lake.arn]
    }
  }

  # Bronze is immutable: nobody, administrators included, can permanently delete a version of a bronze object.
  # (A plain DELETE only adds a delete marker; the payload stays recoverable, and bronze versions never expire.)
  statement {
    sid       = "DenyPermanentDeleteOfBronze"
    effect    = "Deny"
    actions   = ["s3:DeleteObjectVersion"]
    resources = ["${aws_s3_bucket.lake.arn}/${var.lake_prefix}/bronze/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

resource "aws_s3_bucket_policy" "lake" {
  bucket = aws_s3_bucket.lake.id
  policy = data.aws_iam_policy_document.lake_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.lake]
}

# =====================================================================================================================
# Client data-feed bucket
# =====================================================================================================================

resource "aws_s3_bucket" "feeds" {
  #checkov:skip=CKV_AWS_144:Deliveries are regenerated from the lake on demand; replicating them adds cost without protecting anything unique.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications: deliveries are announced by the feeds assets (manifest plus presigned URL).
  bucket = local.feeds_bucket_name
}

resource "aws_s3_bucket_ownership_controls" "feeds" {
  bucket = aws_s3_bucket.feeds.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "feeds" {
  bucket                  = aws_s3_bucket.feeds.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "feeds" {
  bucket = aws_s3_bucket.feeds.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "feeds" {
  bucket = aws_s3_bucket.feeds.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.feeds.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "feeds" {
  bucket        = aws_s3_bucket.feeds.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${local.feeds_bucket_name}/"

  target_object_key_format {
    partitioned_prefix {
      partition_date_source = "EventTime"
    }
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "feeds" {
  bucket = aws_s3_bucket.feeds.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Delivered files stay downloadable for feeds_retention_days; the record of each delivery (delivery log,
  # manifests) lives in the lake and is kept.
  rule {
    id     = "deliveries-expire"
    status = "Enabled"

    filter {
      prefix = "${var.feeds_prefix}/"
    }

    expiration {
      days = var.feeds_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.feeds]
}

data "aws_iam_policy_document" "feeds_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.feeds.arn, "${aws_s3_bucket.feeds.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyOutdatedTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.feeds.arn, "${aws_s3_bucket.feeds.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }

  statement {
    sid       = "DenyOtherEncryption"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.feeds.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Null"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["false"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
  }

  statement {
    sid       = "DenyOtherKmsKeys"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.feeds.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Null"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = ["false"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [aws_kms_key.feeds.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "feeds" {
  bucket = aws_s3_bucket.feeds.id
  policy = data.aws_iam_policy_document.feeds_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.feeds]
}

# =====================================================================================================================
# Access-log bucket
# =====================================================================================================================

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target; logging it to itself would loop.
  #checkov:skip=CKV_AWS_144:Access logs are not replicated; they are an audit trail, not data the pipeline needs.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications for access logs.
  #checkov:skip=CKV_AWS_145:S3 server access logs and ALB access logs can only be delivered to buckets encrypted with SSE-S3, not SSE-KMS.
  bucket = local.log_bucket_name
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    object_ownership = "BucketOwnerEnforced" # log delivery is granted by the bucket policy below, not ACLs
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256" # SSE-S3: the only encryption S3 and ELB log delivery support
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

# Regions opened before August 2022 deliver ALB logs from a regional ELB account; later ones use a service
# principal. The policy grants both.
data "aws_elb_service_account" "current" {
  count = var.enable_alb ? 1 : 0
}

data "aws_iam_policy_document" "logs_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyOutdatedTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }

  statement {
    sid       = "AllowS3ServerAccessLogDelivery"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.lake.arn, aws_s3_bucket.feeds.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  dynamic "statement" {
    for_each = var.enable_alb ? [1] : []

    content {
      sid       = "AllowAlbAccessLogDelivery"
      effect    = "Allow"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${local.account_id}/*"]

      principals {
        type        = "AWS"
        identifiers = [data.aws_elb_service_account.current[0].arn]
      }

      principals {
        type        = "Service"
        identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}
