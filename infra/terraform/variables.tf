# ---------------------------------------------------------------------------------------------------------------------
# Identity and tagging
# ---------------------------------------------------------------------------------------------------------------------

variable "aws_region" {
  description = "AWS region of every resource. Passed to the containers as AWS_REGION."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like an AWS region code, e.g. us-east-1."
  }
}

variable "name" {
  description = "Short name prefixed to every resource name (short enough for the 32-character ALB and target group names)."
  type        = string
  default     = "nexus"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,9}$", var.name))
    error_message = "name must be 2-10 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment environment (prod, staging, ...), part of every resource name."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.environment))
    error_message = "environment must be 2-8 lowercase letters or digits, starting with a letter."
  }
}

variable "tags" {
  description = "Tags applied to every resource (merged over Project, Environment and ManagedBy)."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for key, value in var.tags : length(key) > 0 && length(key) <= 128 && length(value) <= 256
      && !startswith(lower(key), "aws:")
    ])
    error_message = "Tag keys must be 1-128 characters and not start with 'aws:'; values at most 256 characters."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Networking (the VPC is not managed here)
# ---------------------------------------------------------------------------------------------------------------------

variable "vpc_id" {
  description = "Existing VPC that hosts the Dagster tasks, the database, the ALB and the Spark workers."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "private_subnet_ids" {
  description = <<-EOT
    Private subnets (at least two, in different AZs) for the Dagster tasks, the RDS instance and EMR Serverless.
    They need outbound HTTPS to the publishers' APIs and to AWS (NAT gateway, or VPC endpoints for S3, ECR,
    Secrets Manager and CloudWatch Logs plus NAT for the publishers).
  EOT
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && alltrue([for id in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "private_subnet_ids needs at least two subnet ids (subnet-...)."
  }
}

variable "enable_alb" {
  description = "Create an HTTPS Application Load Balancer in front of dagster-webserver."
  type        = bool
  default     = true
}

variable "alb_internal" {
  description = "Make the ALB internal (reachable from the VPC, VPN or peering only) rather than internet-facing."
  type        = bool
  default     = true
}

variable "alb_subnet_ids" {
  description = "Subnets of the ALB (at least two AZs): public subnets if internet-facing, private ones if internal."
  type        = list(string)
  default     = []

  validation {
    condition     = !var.enable_alb || length(var.alb_subnet_ids) >= 2
    error_message = "alb_subnet_ids needs at least two subnets when enable_alb is true."
  }

  validation {
    condition     = alltrue([for id in var.alb_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "alb_subnet_ids must be subnet ids (subnet-...)."
  }
}

variable "alb_certificate_arn" {
  description = "ACM certificate for the ALB's HTTPS listener (required when enable_alb is true)."
  type        = string
  default     = null

  validation {
    condition     = !var.enable_alb || (var.alb_certificate_arn != null && can(regex("^arn:aws[a-z-]*:acm:", coalesce(var.alb_certificate_arn, "-"))))
    error_message = "alb_certificate_arn must be an ACM certificate ARN when enable_alb is true."
  }
}

variable "alb_deletion_protection" {
  description = "Protect the ALB from deletion (turn off before destroying the stack)."
  type        = bool
  default     = true
}

variable "webserver_allowed_cidrs" {
  description = <<-EOT
    IPv4 CIDR blocks allowed to reach the Dagster UI: on 443 at the ALB, or directly on port 3000 of the
    webserver task when enable_alb is false (e.g. a VPN range). dagster-webserver has no authentication of its
    own and can launch runs, so the whole internet is refused.
  EOT
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.webserver_allowed_cidrs : can(cidrhost(cidr, 0)) && !can(regex(":", cidr))])
    error_message = "webserver_allowed_cidrs must be IPv4 CIDR blocks, e.g. 10.20.0.0/16."
  }

  validation {
    condition     = !contains(var.webserver_allowed_cidrs, "0.0.0.0/0")
    error_message = "0.0.0.0/0 is not allowed: the Dagster UI is unauthenticated. List the office or VPN ranges."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Storage: lake, client feeds, access logs
# ---------------------------------------------------------------------------------------------------------------------

variable "lake_bucket_name" {
  description = "Name of the lake bucket. Default: <name>-<environment>-lake-<account id>."
  type        = string
  default     = null

  validation {
    condition     = var.lake_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.lake_bucket_name, "-")))
    error_message = "lake_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "lake_prefix" {
  description = "Key prefix of the lake inside its bucket: NEXUS_LAKE_URI is s3://<lake bucket>/<lake_prefix>."
  type        = string
  default     = "nexus"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$", var.lake_prefix))
    error_message = "lake_prefix must be a non-empty key prefix without leading or trailing '/', e.g. nexus."
  }
}

variable "bronze_transition_days" {
  description = "Days after which bronze raw payloads move to bronze_transition_storage_class. They are never deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.bronze_transition_days >= 30 && floor(var.bronze_transition_days) == var.bronze_transition_days
    error_message = "bronze_transition_days must be a whole number of at least 30 (the S3 minimum for STANDARD_IA)."
  }
}

variable "bronze_transition_storage_class" {
  description = <<-EOT
    Storage class bronze payloads transition to. Only classes with millisecond reads are allowed, because
    replays and rebuilds read bronze back (GLACIER and DEEP_ARCHIVE would need a restore first).
  EOT
  type        = string
  default     = "STANDARD_IA"

  validation {
    condition     = contains(["STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR"], var.bronze_transition_storage_class)
    error_message = "bronze_transition_storage_class must be STANDARD_IA, INTELLIGENT_TIERING or GLACIER_IR."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days a superseded or deleted object version is kept in silver, gold, quarantine and feeds before it expires."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "noncurrent_version_retention_days must be a whole number of at least 1."
  }
}

variable "feeds_bucket_name" {
  description = "Name of the client data-feed bucket. Default: <name>-<environment>-feeds-<account id>."
  type        = string
  default     = null

  validation {
    condition     = var.feeds_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.feeds_bucket_name, "-")))
    error_message = "feeds_bucket_name must be a valid S3 bucket name."
  }
}

variable "feeds_prefix" {
  description = "Key prefix of client deliveries in the feeds bucket; each client gets <feeds_prefix>/<client id>/."
  type        = string
  default     = "feeds"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$", var.feeds_prefix))
    error_message = "feeds_prefix must be a non-empty key prefix without leading or trailing '/'."
  }
}

variable "feeds_retention_days" {
  description = "Days a delivered feed file stays downloadable before it expires (the delivery log in the lake is kept)."
  type        = number
  default     = 90

  validation {
    condition     = var.feeds_retention_days >= 1 && floor(var.feeds_retention_days) == var.feeds_retention_days
    error_message = "feeds_retention_days must be a whole number of at least 1."
  }
}

variable "log_bucket_name" {
  description = "Name of the access-log bucket (S3 server access logs, ALB logs). Default: <name>-<environment>-access-logs-<account id>."
  type        = string
  default     = null

  validation {
    condition     = var.log_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.log_bucket_name, "-")))
    error_message = "log_bucket_name must be a valid S3 bucket name."
  }
}

variable "access_log_retention_days" {
  description = "Days S3 and ALB access logs are kept."
  type        = number
  default     = 400

  validation {
    condition     = var.access_log_retention_days >= 90
    error_message = "access_log_retention_days must be at least 90."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Dagster on ECS Fargate
# ---------------------------------------------------------------------------------------------------------------------

variable "dagster_image" {
  description = <<-EOT
    Container image built by the repository's Dockerfile (the project, dagster-webserver, dagster-daemon, nexus,
    dagster-postgres, dagster-aws, deploy/dagster.yaml as DAGSTER_HOME/dagster.yaml). Pin a tag or, better, a
    digest; ':latest' is refused.
  EOT
  type        = string

  validation {
    condition     = can(regex("(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", var.dagster_image)) && !endswith(var.dagster_image, ":latest")
    error_message = "dagster_image must end with an explicit tag (not :latest) or an @sha256 digest."
  }
}

variable "dagster_home" {
  description = "DAGSTER_HOME inside the image: the folder holding dagster.yaml (Postgres storage, run coordinator)."
  type        = string
  default     = "/opt/dagster/dagster_home"

  validation {
    condition     = startswith(var.dagster_home, "/")
    error_message = "dagster_home must be an absolute path."
  }
}

variable "workspace_file" {
  description = "Workspace file, relative to the image's working directory, that the webserver loads."
  type        = string
  default     = "workspace.yaml"
}

variable "daemon_workspace_file" {
  description = "Workspace file of the daemon: the code-server container of its task (local.code_server_port)."
  type        = string
  default     = "deploy/daemon_workspace.yaml"
}

variable "compute_logs_prefix" {
  description = <<-EOT
    Key prefix in the lake bucket (outside the lake prefix) where Dagster's S3ComputeLogManager keeps run
    stdout/stderr, so the webserver can show logs captured in the daemon task (see README.md).
  EOT
  type        = string
  default     = "dagster/compute-logs"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$", var.compute_logs_prefix))
    error_message = "compute_logs_prefix must be a non-empty key prefix without leading or trailing '/'."
  }

  validation {
    condition     = !startswith("${var.compute_logs_prefix}/", "${var.lake_prefix}/") && !startswith("${var.lake_prefix}/", "${var.compute_logs_prefix}/")
    error_message = "compute_logs_prefix must not overlap lake_prefix."
  }
}

variable "max_concurrent_runs" {
  description = <<-EOT
    Runs the daemon starts at once (DAGSTER_MAX_CONCURRENT_RUNS, read by the image's dagster.yaml). 1 keeps one
    chain at a time: a run the daemon would launch while another (or a `nexus run`) is going waits in the queue.
  EOT
  type        = number
  default     = 1

  validation {
    condition     = var.max_concurrent_runs >= 1 && var.max_concurrent_runs <= 16 && floor(var.max_concurrent_runs) == var.max_concurrent_runs
    error_message = "max_concurrent_runs must be a whole number from 1 to 16."
  }
}

variable "source_mode" {
  description = "NEXUS_SOURCE_MODE of the deployment: live (publisher APIs), files or simulated."
  type        = string
  default     = "live"

  validation {
    condition     = contains(["live", "files", "simulated"], var.source_mode)
    error_message = "source_mode must be live, files or simulated."
  }
}

variable "extra_environment" {
  description = <<-EOT
    Additional non-secret environment variables for both Dagster containers (e.g. NEXUS_START_DATE).
    Anything that looks like a credential is refused: secrets belong in Secrets Manager (secrets.tf).
  EOT
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for key in keys(var.extra_environment) :
      can(regex("^[A-Z][A-Z0-9_]*$", key)) && !can(regex("(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", key))
    ])
    error_message = "extra_environment keys must be UPPER_SNAKE_CASE and must not name a key, token, secret, password or credential."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the Dagster image: X86_64 or ARM64 (Graviton)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "webserver_cpu" {
  description = "CPU units of the webserver task (1024 = 1 vCPU)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.webserver_cpu)
    error_message = "webserver_cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "webserver_memory" {
  description = "Memory (MiB) of the webserver task; must be a valid Fargate combination with webserver_cpu."
  type        = number
  default     = 2048

  validation {
    condition     = var.webserver_memory >= 512 && var.webserver_memory % 512 == 0
    error_message = "webserver_memory must be a multiple of 512 MiB (and a valid Fargate combination with the CPU size)."
  }
}

variable "daemon_cpu" {
  description = "CPU units of the daemon task. Runs execute inside it (default run launcher), so size it for ingest and dbt."
  type        = number
  default     = 2048

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.daemon_cpu)
    error_message = "daemon_cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "daemon_memory" {
  description = "Memory (MiB) of the daemon task; must be a valid Fargate combination with daemon_cpu."
  type        = number
  default     = 8192

  validation {
    condition     = var.daemon_memory >= 512 && var.daemon_memory % 512 == 0
    error_message = "daemon_memory must be a multiple of 512 MiB (and a valid Fargate combination with the CPU size)."
  }
}

variable "daemon_ephemeral_storage_gib" {
  description = "Ephemeral storage (GiB) of the daemon task: the DuckDB files dbt builds and run scratch space."
  type        = number
  default     = 50

  validation {
    condition     = var.daemon_ephemeral_storage_gib >= 21 && var.daemon_ephemeral_storage_gib <= 200
    error_message = "daemon_ephemeral_storage_gib must be between 21 and 200 (Fargate limits)."
  }
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups (Dagster containers, RDS, EMR Serverless)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (e.g. 30, 90, 365, 731)."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Postgres (Dagster instance storage)
# ---------------------------------------------------------------------------------------------------------------------

variable "postgres_engine_version" {
  description = "PostgreSQL version: a major version (minor upgrades applied automatically) or major.minor."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^1[4-9](\\.[0-9]+)?$", var.postgres_engine_version))
    error_message = "postgres_engine_version must be 14 or later, e.g. 16 or 16.4."
  }
}

variable "postgres_instance_class" {
  description = "RDS instance class of the Dagster database."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition     = startswith(var.postgres_instance_class, "db.")
    error_message = "postgres_instance_class must be an RDS instance class (db....)."
  }
}

variable "postgres_allocated_storage_gib" {
  description = "Initial storage (GiB) of the Dagster database."
  type        = number
  default     = 20

  validation {
    condition     = var.postgres_allocated_storage_gib >= 20
    error_message = "postgres_allocated_storage_gib must be at least 20 (gp3 minimum)."
  }
}

variable "postgres_max_allocated_storage_gib" {
  description = "Storage autoscaling ceiling (GiB) of the Dagster database."
  type        = number
  default     = 200

  validation {
    condition     = var.postgres_max_allocated_storage_gib >= var.postgres_allocated_storage_gib
    error_message = "postgres_max_allocated_storage_gib must be at least postgres_allocated_storage_gib."
  }
}

variable "postgres_multi_az" {
  description = "Run the Dagster database Multi-AZ (standby in a second AZ)."
  type        = bool
  default     = true
}

variable "postgres_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery) of the Dagster database."
  type        = number
  default     = 14

  validation {
    condition     = var.postgres_backup_retention_days >= 1 && var.postgres_backup_retention_days <= 35
    error_message = "postgres_backup_retention_days must be between 1 and 35."
  }
}

variable "postgres_deletion_protection" {
  description = "Protect the Dagster database from deletion."
  type        = bool
  default     = true
}

variable "postgres_password_version" {
  description = <<-EOT
    Generation of the Postgres password. The password is generated at apply time and written only to RDS and
    Secrets Manager (never to the plan or state). Increment this to rotate it: both are rewritten and the
    Dagster services are redeployed to pick it up.
  EOT
  type        = number
  default     = 1

  validation {
    condition     = var.postgres_password_version >= 1 && floor(var.postgres_password_version) == var.postgres_password_version
    error_message = "postgres_password_version must be a positive whole number."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted Secrets Manager secret can still be restored."
  type        = number
  default     = 30

  validation {
    condition     = var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30
    error_message = "secret_recovery_window_days must be between 7 and 30."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Spark on EMR Serverless (bulk backfills)
# ---------------------------------------------------------------------------------------------------------------------

variable "spark_release_label" {
  description = "EMR Serverless release label of the Spark application (Delta Lake ships with EMR 6.9 and later)."
  type        = string
  default     = "emr-7.9.0"

  validation {
    condition     = can(regex("^emr-[6-9]\\.[0-9]+\\.[0-9]+$", var.spark_release_label))
    error_message = "spark_release_label must look like emr-7.9.0 (EMR 6.x or later)."
  }
}

variable "spark_architecture" {
  description = "CPU architecture of the Spark workers: X86_64 or ARM64."
  type        = string
  default     = "ARM64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.spark_architecture)
    error_message = "spark_architecture must be X86_64 or ARM64."
  }
}

variable "spark_max_vcpu" {
  description = "Ceiling on the vCPUs the Spark application may use at once (caps the cost of a backfill)."
  type        = number
  default     = 64

  validation {
    condition     = var.spark_max_vcpu >= 1 && floor(var.spark_max_vcpu) == var.spark_max_vcpu
    error_message = "spark_max_vcpu must be a positive whole number."
  }
}

variable "spark_max_memory_gb" {
  description = "Ceiling on the memory (GB) the Spark application may use at once."
  type        = number
  default     = 256

  validation {
    condition     = var.spark_max_memory_gb >= 1 && floor(var.spark_max_memory_gb) == var.spark_max_memory_gb
    error_message = "spark_max_memory_gb must be a positive whole number."
  }
}

variable "spark_max_disk_gb" {
  description = "Ceiling on the worker disk (GB) the Spark application may use at once."
  type        = number
  default     = 1000

  validation {
    condition     = var.spark_max_disk_gb >= 20 && floor(var.spark_max_disk_gb) == var.spark_max_disk_gb
    error_message = "spark_max_disk_gb must be a whole number of at least 20."
  }
}

variable "spark_idle_timeout_minutes" {
  description = "Minutes of inactivity after which the Spark application stops (and stops costing)."
  type        = number
  default     = 15

  validation {
    condition     = var.spark_idle_timeout_minutes >= 1 && var.spark_idle_timeout_minutes <= 10080
    error_message = "spark_idle_timeout_minutes must be between 1 and 10080."
  }
}

variable "spark_image_tag" {
  type        = string
  description = "Tag of the custom EMR image (infra/emr-image/Dockerfile) in the emr-spark ECR repository; empty runs EMR's stock image."
  default     = ""

  validation {
    condition     = var.spark_image_tag == "" || can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.spark_image_tag))
    error_message = "spark_image_tag must be a valid image tag."
  }
}

variable "spark_artifacts_prefix" {
  description = "Key prefix in the lake bucket (outside the lake prefix) for Spark job code and dependencies."
  type        = string
  default     = "spark-artifacts"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$", var.spark_artifacts_prefix))
    error_message = "spark_artifacts_prefix must be a non-empty key prefix without leading or trailing '/'."
  }

  validation {
    condition     = !startswith("${var.spark_artifacts_prefix}/", "${var.lake_prefix}/") && !startswith("${var.lake_prefix}/", "${var.spark_artifacts_prefix}/")
    error_message = "spark_artifacts_prefix must not overlap lake_prefix."
  }
}

