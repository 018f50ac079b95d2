# Security groups. The VPC and subnets are not managed here (var.vpc_id, var.private_subnet_ids).
#
#   allowed CIDRs --443--> alb --3000--> webserver --5432--> database <--5432-- daemon
#   (without the ALB: allowed CIDRs --3000--> webserver)
#   webserver, daemon, spark --443--> AWS APIs (S3, ECR, Secrets Manager, Logs, EMR) and, for the daemon, the
#   publishers' HTTPS APIs. Nothing else leaves on any other port; nothing reaches the daemon or Spark.
# Rules are separate resources (aws_vpc_security_group_*_rule), one per purpose, each with a description.

resource "aws_security_group" "alb" {
  count = var.enable_alb ? 1 : 0

  name        = "${local.name}-dagster-alb"
  description = "Dagster UI load balancer: HTTPS from the allowed CIDRs, forwards to the webserver"
  vpc_id      = var.vpc_id

  tags = { Name = "${local.name}-dagster-alb" }
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = var.enable_alb ? toset(var.webserver_allowed_cidrs) : toset([])

  security_group_id = aws_security_group.alb[0].id
  description       = "HTTPS to the Dagster UI from an allowed network"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_webserver" {
  count = var.enable_alb ? 1 : 0

  security_group_id            = aws_security_group.alb[0].id
  description                  = "Forward to dagster-webserver"
  ip_protocol                  = "tcp"
  from_port                    = local.webserver_port
  to_port                      = local.webserver_port
  referenced_security_group_id = aws_security_group.webserver.id
}

# --- dagster-webserver -----------------------------------------------------------------------------------------------

resource "aws_security_group" "webserver" {
  name        = "${local.name}-dagster-webserver"
  description = "dagster-webserver tasks: UI port from the ALB (or allowed CIDRs), out to Postgres and AWS APIs"
  vpc_id      = var.vpc_id

  tags = { Name = "${local.name}-dagster-webserver" }
}

resource "aws_vpc_security_group_ingress_rule" "webserver_from_alb" {
  count = var.enable_alb ? 1 : 0

  security_group_id            = aws_security_group.webserver.id
  description                  = "Dagster UI from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = local.webserver_port
  to_port                      = local.webserver_port
  referenced_security_group_id = aws_security_group.alb[0].id
}

resource "aws_vpc_security_group_ingress_rule" "webserver_from_cidrs" {
  for_each = var.enable_alb ? toset([]) : toset(var.webserver_allowed_cidrs)

  security_group_id = aws_security_group.webserver.id
  description       = "Dagster UI directly from an allowed network (no ALB)"
  ip_protocol       = "tcp"
  from_port         = local.webserver_port
  to_port           = local.webserver_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "webserver_to_postgres" {
  security_group_id            = aws_security_group.webserver.id
  description                  = "Dagster instance storage"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_egress_rule" "webserver_https" {
  security_group_id = aws_security_group.webserver.id
  description       = "HTTPS to AWS APIs (ECR, Secrets Manager, CloudWatch Logs, S3)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# --- dagster-daemon (and the runs it executes) -----------------------------------------------------------------------

resource "aws_security_group" "daemon" {
  name        = "${local.name}-dagster-daemon"
  description = "dagster-daemon tasks: no inbound; out to Postgres, AWS APIs and publisher HTTPS APIs"
  vpc_id      = var.vpc_id

  tags = { Name = "${local.name}-dagster-daemon" }
}

resource "aws_vpc_security_group_egress_rule" "daemon_to_postgres" {
  security_group_id            = aws_security_group.daemon.id
  description                  = "Dagster instance storage"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_egress_rule" "daemon_https" {
  security_group_id = aws_security_group.daemon.id
  description       = "HTTPS to publishers (Cboe, CFTC, FRED, EIA, Coin Metrics) and AWS APIs (S3, EMR, ECR, Logs)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# --- Postgres --------------------------------------------------------------------------------------------------------

resource "aws_security_group" "database" {
  name        = "${local.name}-dagster-postgres"
  description = "Dagster Postgres: 5432 from the Dagster tasks only; no outbound"
  vpc_id      = var.vpc_id

  tags = { Name = "${local.name}-dagster-postgres" }
}

resource "aws_vpc_security_group_ingress_rule" "database_from_webserver" {
  security_group_id            = aws_security_group.database.id
  description                  = "Postgres from dagster-webserver"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.webserver.id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_daemon" {
  security_group_id            = aws_security_group.database.id
  description                  = "Postgres from dagster-daemon and its runs"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.daemon.id
}

# --- Spark (EMR Serverless workers) ----------------------------------------------------------------------------------

resource "aws_security_group" "spark" {
  #checkov:skip=CKV2_AWS_5:Attached to the EMR Serverless application (spark.tf, network_configuration), which checkov's graph does not recognise.
  name        = "${local.name}-spark"
  description = "EMR Serverless workers: traffic among themselves, HTTPS out to S3 and AWS APIs"
  vpc_id      = var.vpc_id

  tags = { Name = "${local.name}-spark" }
}

resource "aws_vpc_security_group_ingress_rule" "spark_from_spark" {
  security_group_id            = aws_security_group.spark.id
  description                  = "Spark driver and executors of the same application"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.spark.id
}

resource "aws_vpc_security_group_egress_rule" "spark_to_spark" {
  security_group_id            = aws_security_group.spark.id
  description                  = "Spark driver and executors of the same application"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.spark.id
}

resource "aws_vpc_security_group_egress_rule" "spark_https" {
  security_group_id = aws_security_group.spark.id
  description       = "HTTPS to S3 and AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}
