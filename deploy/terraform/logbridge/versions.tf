# Terraform and provider pins shared by every file of the logbridge module.
terraform {
  required_version = ">= 1.7.0" # removed blocks (alarms.tf)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}
