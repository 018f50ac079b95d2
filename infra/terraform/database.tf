# Postgres for Dagster instance storage (runs, event logs, schedules, sensors): private subnets only, encrypted,
# TLS enforced, Multi-AZ, backed up. Nothing of the lake lives here; losing it loses run history, not data.

locals {
  postgres_major_version = split(".", var.postgres_engine_version)[0]
  postgres_identifier    = "${local.name}-dagster"
}

resource "aws_db_subnet_group" "dagster" {
  name        = "${local.name}-dagster"
  description = "Private subnets of the Dagster Postgres instance"
  subnet_ids  = var.private_subnet_ids
}

resource "aws_db_parameter_group" "dagster" {
  name_prefix = "${local.name}-dagster-pg${local.postgres_major_version}-"
  family      = "postgres${local.postgres_major_version}"
  description = "Dagster Postgres: TLS only, slow-query and DDL logging"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000" # ms: log statements slower than a second
  }

  lifecycle {
    create_before_destroy = true # a new major version gets a new group before the old one is released
  }
}

# Created up front so that retention and encryption apply (RDS would create them with no expiry).
resource "aws_cloudwatch_log_group" "postgres" {
  for_each = toset(["postgresql", "upgrade"])

  name              = "/aws/rds/instance/${local.postgres_identifier}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.platform.arn
}

resource "aws_db_instance" "dagster" {
  identifier     = local.postgres_identifier
  engine         = "postgres"
  engine_version = var.postgres_engine_version
  instance_class = var.postgres_instance_class

  db_name  = local.postgres_db_name
  username = local.postgres_username
  port     = 5432
  # Write-only: sent to RDS at apply time, never stored in the plan or state (see secrets.tf).
  password_wo         = ephemeral.aws_secretsmanager_random_password.postgres.random_password
  password_wo_version = var.postgres_password_version

  allocated_storage     = var.postgres_allocated_storage_gib
  max_allocated_storage = var.postgres_max_allocated_storage_gib
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.platform.arn

  db_subnet_group_name   = aws_db_subnet_group.dagster.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  multi_az               = var.postgres_multi_az
  parameter_group_name   = aws_db_parameter_group.dagster.name

  # Dagster authenticates with the password; IAM auth is on so that operators can connect without it.
  iam_database_authentication_enabled = true

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  maintenance_window          = "sun:05:00-sun:06:00"
  backup_window               = "03:00-04:00"
  backup_retention_period     = var.postgres_backup_retention_days
  copy_tags_to_snapshot       = true
  delete_automated_backups    = false
  deletion_protection         = var.postgres_deletion_protection
  skip_final_snapshot         = false
  final_snapshot_identifier   = "${local.postgres_identifier}-final"

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.platform.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  depends_on = [aws_cloudwatch_log_group.postgres, aws_iam_role_policy_attachment.rds_monitoring]
}
