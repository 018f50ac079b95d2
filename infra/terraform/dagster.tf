# Dagster on ECS Fargate: two services from one image.
#   dagster-webserver  the UI and GraphQL API (behind the ALB when enabled); it queues runs, never executes them.
#   dagster-daemon     schedules, sensors, the run queue, backfills; runs execute inside this task (the image's
#                      dagster.yaml uses the default run launcher), so it holds the lake role and the API keys.
#                      Its code-server container loads the code location once; the daemon reaches it on the
#                      task's loopback (deploy/daemon_workspace.yaml) and the run processes start there. With a
#                      python_module workspace the daemon reloaded the whole code location every 60 s.
# Both load the same code location and share Postgres instance storage (README.md shows the dagster.yaml).
#
# Configuration reaches the containers in two ways only:
#   environment  non-secret settings (local.dagster_environment);
#   secrets      Secrets Manager ARNs resolved by ECS at task start (secrets.tf). Secret values never appear in a
#                task definition, the plan or the state.

locals {
  # One environment for both services: both load the same code location, so they must see the same settings.
  dagster_environment = merge(
    var.extra_environment,
    {
      # Nexus settings (resources/settings.py)
      NEXUS_LAKE_URI    = local.lake_uri
      NEXUS_SOURCE_MODE = var.source_mode
      AWS_REGION        = local.region
      # Client feeds and Spark backfills: where they go, for the feeds and backfill assets
      NEXUS_FEEDS_URI            = local.feeds_uri
      NEXUS_SPARK_APPLICATION_ID = aws_emrserverless_application.spark.id
      NEXUS_SPARK_JOB_ROLE_ARN   = aws_iam_role.spark_job.arn
      NEXUS_SPARK_ARTIFACTS_URI  = local.spark_artifacts_uri
      # Dagster instance (read by dagster.yaml)
      DAGSTER_HOME                = var.dagster_home
      DAGSTER_PG_HOST             = aws_db_instance.dagster.address
      DAGSTER_PG_PORT             = tostring(aws_db_instance.dagster.port)
      DAGSTER_PG_DB               = local.postgres_db_name
      DAGSTER_PG_USERNAME         = local.postgres_username
      DAGSTER_COMPUTE_LOGS_BUCKET = local.lake_bucket_name
      DAGSTER_COMPUTE_LOGS_PREFIX = var.compute_logs_prefix
      DAGSTER_MAX_CONCURRENT_RUNS = tostring(var.max_concurrent_runs)
      # The image's Python should not write into its own filesystem
      PYTHONDONTWRITEBYTECODE = "1"
    },
  )

  dagster_environment_list = [for key in sort(keys(local.dagster_environment)) : { name = key, value = local.dagster_environment[key] }]

  postgres_password_secret = [{ name = "DAGSTER_PG_PASSWORD", valueFrom = aws_secretsmanager_secret.postgres_password.arn }]

  # Publisher credentials only where runs execute, and only in live mode (simulated and files modes need none,
  # and an empty secret would stop the task from starting).
  api_key_container_secrets = var.source_mode == "live" ? [
    for env_name in sort(local.api_key_env_names) : { name = env_name, valueFrom = aws_secretsmanager_secret.api_keys[env_name].arn }
  ] : []

  webserver_secrets = local.postgres_password_secret
  daemon_secrets    = concat(local.postgres_password_secret, local.api_key_container_secrets)

  webserver_container = {
    name      = "dagster-webserver"
    image     = var.dagster_image
    essential = true
    command   = ["dagster-webserver", "--host", "0.0.0.0", "--port", tostring(local.webserver_port), "--workspace", var.workspace_file]

    portMappings = [{ name = "http", containerPort = local.webserver_port, protocol = "tcp" }]
    environment  = local.dagster_environment_list
    secrets      = local.webserver_secrets

    healthCheck = {
      command     = ["CMD-SHELL", "python -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:${local.webserver_port}/server_info', timeout=5)\""]
      interval    = 30
      timeout     = 10
      retries     = 3
      startPeriod = 120
    }

    linuxParameters        = { initProcessEnabled = true }
    readonlyRootFilesystem = false
    stopTimeout            = 30

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.dagster["webserver"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "webserver"
      }
    }
  }

  code_server_container = {
    name      = "code-server"
    image     = var.dagster_image
    essential = true
    command = [
      "dagster", "api", "grpc", "-m", "pipelines.definitions", "-a", "defs",
      "-h", "127.0.0.1", "-p", tostring(local.code_server_port), "--location-name", "nexus",
    ]

    # Sensors (the release sensors ask the publishers) and the runs execute here: the daemon's settings and keys.
    environment = local.dagster_environment_list
    secrets     = local.daemon_secrets

    healthCheck = {
      command     = ["CMD", "dagster", "api", "grpc-health-check", "-h", "127.0.0.1", "-p", tostring(local.code_server_port)]
      interval    = 30
      timeout     = 20
      retries     = 3
      startPeriod = 180
    }

    # Reap the run subprocesses it starts; give in-flight steps time to stop.
    linuxParameters        = { initProcessEnabled = true }
    readonlyRootFilesystem = false
    stopTimeout            = 120

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.dagster["daemon"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "code-server"
      }
    }
  }

  daemon_container = {
    name      = "dagster-daemon"
    image     = var.dagster_image
    essential = true
    command   = ["dagster-daemon", "run", "--workspace", var.daemon_workspace_file]
    dependsOn = [{ containerName = "code-server", condition = "HEALTHY" }]

    environment = local.dagster_environment_list
    secrets     = local.daemon_secrets

    linuxParameters        = { initProcessEnabled = true }
    readonlyRootFilesystem = false
    stopTimeout            = 120

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.dagster["daemon"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "daemon"
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "dagster" {
  for_each = toset(["webserver", "daemon"])

  name              = "/ecs/${local.name}/dagster-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.platform.arn
}

resource "aws_ecs_cluster" "dagster" {
  name = "${local.name}-dagster"

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "webserver" {
  #checkov:skip=CKV_AWS_336:dbt writes target/ and logs/ inside the project and Dagster writes under DAGSTER_HOME; a read-only root needs the image to redirect both to a volume first (README.md, "Hardening left to the image").
  family                   = "${local.name}-dagster-webserver"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.webserver_cpu
  memory                   = var.webserver_memory
  execution_role_arn       = aws_iam_role.dagster_execution.arn
  task_role_arn            = aws_iam_role.dagster_webserver.arn
  container_definitions    = jsonencode([local.webserver_container])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }
}

resource "aws_ecs_task_definition" "daemon" {
  #checkov:skip=CKV_AWS_336:Runs execute in the code-server container and write the DuckDB files and dbt artifacts locally; see the webserver task definition.
  family                   = "${local.name}-dagster-daemon"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.daemon_cpu
  memory                   = var.daemon_memory
  execution_role_arn       = aws_iam_role.dagster_execution.arn
  task_role_arn            = aws_iam_role.dagster_daemon.arn
  container_definitions    = jsonencode([local.code_server_container, local.daemon_container])

  # NEXUS_DUCKDB_PATH and the published DuckDB file are local to the task (always local, even with an S3 lake).
  ephemeral_storage {
    size_in_gib = var.daemon_ephemeral_storage_gib
  }

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }
}

resource "aws_ecs_service" "webserver" {
  name                              = "dagster-webserver"
  cluster                           = aws_ecs_cluster.dagster.id
  task_definition                   = aws_ecs_task_definition.webserver.arn
  desired_count                     = 1
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = var.enable_alb ? 180 : null
  enable_ecs_managed_tags           = true
  propagate_tags                    = "SERVICE"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.webserver.id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = var.enable_alb ? [1] : []

    content {
      target_group_arn = aws_lb_target_group.webserver[0].arn
      container_name   = local.webserver_container.name
      container_port   = local.webserver_port
    }
  }

  # A new Postgres password (var.postgres_password_version) restarts the tasks so that they read it.
  force_new_deployment = true
  triggers = {
    postgres_password_version = tostring(var.postgres_password_version)
  }

  depends_on = [aws_lb_listener.https, aws_secretsmanager_secret_version.postgres_password]
}

resource "aws_ecs_service" "daemon" {
  name                    = "dagster-daemon"
  cluster                 = aws_ecs_cluster.dagster.id
  task_definition         = aws_ecs_task_definition.daemon.arn
  desired_count           = 1 # Dagster supports exactly one daemon per instance
  launch_type             = "FARGATE"
  platform_version        = "LATEST"
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"

  # Stop the old daemon before starting the new one: two daemons would both run schedules and the run queue.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.daemon.id]
    assign_public_ip = false
  }

  force_new_deployment = true
  triggers = {
    postgres_password_version = tostring(var.postgres_password_version)
  }

  depends_on = [aws_secretsmanager_secret_version.postgres_password, aws_iam_role_policy.dagster_daemon]
}
