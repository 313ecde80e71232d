# The fluentd metrics bridge: fluentd's log group -> subscription filter -> Lambda -> CloudWatch metrics.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  metrics_zip             = coalesce(var.metrics_lambda_zip, "${path.module}/../../../dist/fluentd_metrics.zip")
  metrics_lambda_dir      = "${path.module}/../../../lambdas/fluentd_metrics"
  metrics_filter_pattern  = trimspace(file("${local.metrics_lambda_dir}/subscription_filter_pattern.txt"))
  metrics_lambda_log_name = "/aws/lambda/${var.metrics_function_name}"
}

resource "aws_cloudwatch_log_group" "fluentd_metrics" {
  name              = local.metrics_lambda_log_name
  retention_in_days = var.metrics_log_retention_days
}

data "aws_iam_policy_document" "fluentd_metrics_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "fluentd_metrics" {
  name               = "${var.metrics_function_name}-role"
  assume_role_policy = data.aws_iam_policy_document.fluentd_metrics_assume.json
}

# Least privilege: PutMetricData only into the namespace (it has no resource-level ARNs, so the
# cloudwatch:namespace condition is the limit), and writing only the function's own log group.
resource "aws_iam_role_policy" "fluentd_metrics" {
  name = "${var.metrics_function_name}-policy"
  role = aws_iam_role.fluentd_metrics.id
  policy = templatefile("${local.metrics_lambda_dir}/iam_policy.json", {
    namespace     = var.metrics_namespace
    region        = data.aws_region.current.name
    account_id    = data.aws_caller_identity.current.account_id
    function_name = var.metrics_function_name
  })
}

resource "aws_lambda_function" "fluentd_metrics" {
  function_name    = var.metrics_function_name
  role             = aws_iam_role.fluentd_metrics.arn
  runtime          = var.metrics_runtime
  handler          = "handler.handler"
  filename         = local.metrics_zip
  source_code_hash = filebase64sha256(local.metrics_zip)
  memory_size      = 256
  timeout          = 60
  # One invocation at a time: the warm container's last value per plugin then never overlaps
  # another container's, so counter increases across batches are counted once (lambdas/README.md).
  # CloudWatch Logs invokes asynchronously: excess batches wait in Lambda's queue, not lost.
  reserved_concurrent_executions = 1

  environment {
    variables = {
      METRICS_NAMESPACE  = var.metrics_namespace
      METRICS_MODE       = var.metrics_mode
      METRICS_DIMENSIONS = var.metrics_dimensions
    }
  }

  depends_on = [aws_cloudwatch_log_group.fluentd_metrics, aws_iam_role_policy.fluentd_metrics]
}

data "aws_cloudwatch_log_group" "fluentd" {
  name = var.fluentd_log_group_name
}

resource "aws_lambda_permission" "fluentd_metrics_from_logs" {
  statement_id   = "AllowCloudWatchLogsInvoke"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.fluentd_metrics.function_name
  principal      = "logs.amazonaws.com"
  source_arn     = "${data.aws_cloudwatch_log_group.fluentd.arn}:*"
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_cloudwatch_log_subscription_filter" "fluentd_metrics" {
  name            = "fluentd-status-to-metrics"
  log_group_name  = var.fluentd_log_group_name
  filter_pattern  = local.metrics_filter_pattern
  destination_arn = aws_lambda_function.fluentd_metrics.arn
  depends_on      = [aws_lambda_permission.fluentd_metrics_from_logs]
}
