provider "aws" {
  region = var.aws_region

  # Every taggable resource gets these; ECS services also propagate them to the tasks they start.
  default_tags {
    tags = local.tags
  }
}
