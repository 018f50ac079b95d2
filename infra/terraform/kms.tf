# Three customer-managed keys, one per blast radius:
#   lake      the lake bucket only (bronze/silver/gold/quarantine, Spark artifacts, compute logs);
#   feeds     client deliveries, kept apart so client-facing data can be shared or revoked on its own;
#   platform  secrets, CloudWatch log groups and the Dagster database.
# Key policies delegate to IAM (the account root statement); roles get kms: permissions in iam.tf, scoped to
# the service that uses the key (kms:ViaService).

data "aws_iam_policy_document" "kms_account_admin" {
  #checkov:skip=CKV_AWS_109:Key policy, not an identity policy: Resource "*" means this key, and the account-root statement is what lets IAM policies grant use of it (AWS default key policy).
  #checkov:skip=CKV_AWS_111:Key policy: see CKV_AWS_109.
  #checkov:skip=CKV_AWS_356:Key policy: see CKV_AWS_109.
  statement {
    sid       = "EnableIamPoliciesOfThisAccount"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

data "aws_iam_policy_document" "kms_platform" {
  source_policy_documents = [data.aws_iam_policy_document.kms_account_admin.json]

  statement {
    sid    = "AllowCloudWatchLogsOfThisAccount"
    effect = "Allow"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "lake" {
  description             = "${local.name}: SSE-KMS of the lake bucket"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_account_admin.json

  lifecycle {
    prevent_destroy = true # losing this key loses the lake
  }
}

resource "aws_kms_alias" "lake" {
  name          = "alias/${local.name}-lake"
  target_key_id = aws_kms_key.lake.key_id
}

resource "aws_kms_key" "feeds" {
  description             = "${local.name}: SSE-KMS of client data-feed deliveries"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_account_admin.json
}

resource "aws_kms_alias" "feeds" {
  name          = "alias/${local.name}-feeds"
  target_key_id = aws_kms_key.feeds.key_id
}

resource "aws_kms_key" "platform" {
  description             = "${local.name}: Secrets Manager, CloudWatch Logs and the Dagster database"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_platform.json
}

resource "aws_kms_alias" "platform" {
  name          = "alias/${local.name}-platform"
  target_key_id = aws_kms_key.platform.key_id
}
