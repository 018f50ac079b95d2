terraform {
  # 1.11 is the first release with write-only arguments (`password_wo`, `secret_string_wo`): the Postgres
  # password is generated and stored without ever entering the plan or the state.
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Reviewed and validated against 5.100.0. Commit .terraform.lock.hcl after the first `terraform init`.
      version = "~> 5.100"
    }
  }

  # Remote state in S3 with S3-native locking (`use_lockfile`): no DynamoDB table, here or anywhere else.
  # Settings come from a per-environment file: terraform init -backend-config=backend.hcl (backend.hcl.example).
  backend "s3" {}
}
