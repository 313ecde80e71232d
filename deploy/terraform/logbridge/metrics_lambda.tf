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
# cloudwatch:namespace condition is the limit), writing only the function's own log group, and
# sending only to its own queue of failed invocations.
resource "aws_iam_role_policy" "fluentd_metrics" {
  name = "${var.metrics_function_name}-policy"
  role = aws_iam_role.fluentd_metrics.id
  policy = templatefile("${local.metrics_lambda_dir}/iam_policy.json", {
    namespace         = var.metrics_namespace
    region            = data.aws_region.current.name
    account_id        = data.aws_caller_identity.current.account_id
    function_name     = var.metrics_function_name
    failure_queue_arn = aws_sqs_queue.fluentd_metrics_failed.arn
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
  # The handler holds every PutMetricData attempt and backoff to the time Lambda gives it
  # (context.get_remaining_time_in_millis()), keeping METRICS_DEADLINE_RESERVE_SECONDS for its
  # EMF fallback: it ends before this timeout even when CloudWatch never answers.
  timeout = var.metrics_timeout_seconds
  # One invocation at a time: the warm container's last value per plugin then never overlaps
  # another container's, so counter increases across batches are counted once (lambdas/README.md).
  # CloudWatch Logs invokes asynchronously: excess batches wait in Lambda's queue, not lost.
  reserved_concurrent_executions = 1

  environment {
    variables = {
      METRICS_NAMESPACE                  = var.metrics_namespace
      METRICS_MODE                       = var.metrics_mode
      METRICS_DIMENSIONS                 = var.metrics_dimensions
      METRICS_MAX_METRICS_PER_INVOCATION = tostring(var.metrics_max_per_invocation)
      METRICS_MAX_METRICS_PER_PLUGIN     = tostring(var.metrics_max_per_plugin)
      METRICS_MAX_METRICS_PER_HOUR       = tostring(var.metrics_max_per_hour)
    }
  }

  depends_on = [aws_cloudwatch_log_group.fluentd_metrics, aws_iam_role_policy.fluentd_metrics]
}

# CloudWatch Logs invokes the function asynchronously. A retry by Lambda would re-send the
# PutMetricData calls that went through before the failure, and CloudWatch would add them up
# twice (Sums of increases, log counts, status_lines): no retry. What fails, or waits in Lambda's
# queue longer than the maximum event age, goes to the queue below with its payload, for a
# person to look at and replay (lambdas/README.md "Failed invocations").
resource "aws_lambda_function_event_invoke_config" "fluentd_metrics" {
  function_name                = aws_lambda_function.fluentd_metrics.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = var.metrics_max_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.fluentd_metrics_failed.arn
    }
  }

  depends_on = [aws_iam_role_policy.fluentd_metrics]
}

resource "aws_sqs_queue" "fluentd_metrics_failed" {
  name                      = "${var.metrics_function_name}-failed"
  message_retention_seconds = 1209600 # 14 days, SQS's longest
  sqs_managed_sse_enabled   = true
}

# A failed batch is a gap in the metrics: page someone to replay it.
resource "aws_cloudwatch_metric_alarm" "fluentd_metrics_failed" {
  alarm_name          = "${var.alarm_prefix}-metrics-invocations-failed"
  alarm_description   = "The fluentd metrics Lambda failed (or never ran) a batch of fluentd's log lines: it waits in ${aws_sqs_queue.fluentd_metrics_failed.name} to be replayed (lambdas/README.md)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.fluentd_metrics_failed.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
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
