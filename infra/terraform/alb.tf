# Optional HTTPS entry point to the Dagster UI (var.enable_alb). TLS ends here (TLS 1.2+ policy); only the
# CIDRs in var.webserver_allowed_cidrs reach it, and only the ALB reaches the webserver tasks.
# dagster-webserver has no login of its own: keep the CIDR list to office/VPN ranges, or add an
# authenticate-oidc action to the listener when an identity provider is available.

resource "aws_lb" "dagster" {
  #checkov:skip=CKV2_AWS_28:Access is limited to an allow-list of CIDRs by the security group; a WAF adds cost without much value for an internal UI. Attach one if the allow-list grows broad.
  count = var.enable_alb ? 1 : 0

  name                       = "${local.name}-dagster"
  load_balancer_type         = "application"
  internal                   = var.alb_internal
  subnets                    = var.alb_subnet_ids
  security_groups            = [aws_security_group.alb[0].id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection
  idle_timeout               = 120

  access_logs {
    enabled = true
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_target_group" "webserver" {
  #checkov:skip=CKV_AWS_378:TLS terminates at the ALB; the hop to the task stays inside the VPC and the task's security group admits only the ALB.
  count = var.enable_alb ? 1 : 0

  name                 = "${local.name}-dagster-web"
  port                 = local.webserver_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = "/server_info"
    matcher             = "200"
    interval            = 30
    timeout             = 10
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  count = var.enable_alb ? 1 : 0

  load_balancer_arn = aws_lb.dagster[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.alb_certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.webserver[0].arn
  }
}
