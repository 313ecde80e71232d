# Watch the ECS agents (lambdas/ecs_agent_watch): every few minutes, ACTIVE container instances
# whose agent is disconnected -> one SNS message per run + DisconnectedAgents per cluster -> alarm.

locals {
  ecs_agent_watch_dir = "${path.module}/../../../lambdas/ecs_agent_watch"
  ecs_agent_watch_zip = coalesce(var.ecs_agent_watch_lambda_zip, "${path.module}/../../../dist/ecs_agent_watch.zip")

  # Same convention as ecs_drain.tf: `{cluster}` in a Resource is expanded once per cluster.
  ecs_agent_watch_policy_doc = jsondecode(templatefile("${local.ecs_agent_watch_dir}/iam_policy.json", {
    region        = local.ecs_region
    account_id    = local.ecs_account_id
    function_name = var.ecs_agent_watch_function_name
    topic_arn     = aws_sns_topic.ecs_agent_watch.arn
    namespace     = var.ecs_agent_watch_namespace
  }))
  ecs_agent_watch_policy = jsonencode({
    Version = local.ecs_agent_watch_policy_doc.Version
    Statement = [for s in local.ecs_agent_watch_policy_doc.Statement : merge(s, {
      Resource = flatten([for r in flatten([s.Resource]) :
        strcontains(r, "{cluster}") ? [for c in var.ecs_cluster_names : replace(r, "{cluster}", c)] : [r]
      ])
    })]
  })
  ecs_alarm_actions = length(var.ecs_alarm_actions) > 0 ? var.ecs_alarm_actions : [aws_sns_topic.ecs_agent_watch.arn]
}

resource "aws_sns_topic" "ecs_agent_watch" {
  name = var.ecs_agent_watch_function_name
}

resource "aws_cloudwatch_log_group" "ecs_agent_watch" {
  name              = "/aws/lambda/${var.ecs_agent_watch_function_name}"
  retention_in_days = var.ecs_log_retention_days
}

resource "aws_iam_role" "ecs_agent_watch" {
  name               = "${var.ecs_agent_watch_function_name}-role"
  assume_role_policy = data.aws_iam_policy_document.ecs_lambda_assume.json
}

resource "aws_iam_role_policy" "ecs_agent_watch" {
  name   = "${var.ecs_agent_watch_function_name}-policy"
  role   = aws_iam_role.ecs_agent_watch.id
  policy = local.ecs_agent_watch_policy
}

resource "aws_lambda_function" "ecs_agent_watch" {
  function_name    = var.ecs_agent_watch_function_name
  role             = aws_iam_role.ecs_agent_watch.arn
  runtime          = var.ecs_lambda_runtime
  handler          = "handler.handler"
  filename         = local.ecs_agent_watch_zip
  source_code_hash = filebase64sha256(local.ecs_agent_watch_zip)
  memory_size      = 128
  timeout          = 120
  # Runs never overlap: two at once would publish the same news twice.
  reserved_concurrent_executions = 1

  environment {
    variables = {
      CLUSTERS         = join(",", var.ecs_cluster_names)
      TOPIC_ARN        = aws_sns_topic.ecs_agent_watch.arn
      METRIC_NAMESPACE = var.ecs_agent_watch_namespace
    }
  }

  depends_on = [aws_cloudwatch_log_group.ecs_agent_watch, aws_iam_role_policy.ecs_agent_watch]
}

# A failed run is not retried: the next scheduled run is only minutes away, and a retry would
# repeat the SNS message.
resource "aws_lambda_function_event_invoke_config" "ecs_agent_watch" {
  function_name          = aws_lambda_function.ecs_agent_watch.function_name
  maximum_retry_attempts = 0
}

resource "aws_cloudwatch_event_rule" "ecs_agent_watch" {
  name                = var.ecs_agent_watch_function_name
  description         = "Look for ACTIVE ECS container instances whose agent is disconnected."
  schedule_expression = var.ecs_agent_watch_schedule
}

resource "aws_cloudwatch_event_target" "ecs_agent_watch" {
  rule = aws_cloudwatch_event_rule.ecs_agent_watch.name
  arn  = aws_lambda_function.ecs_agent_watch.arn
}

resource "aws_lambda_permission" "ecs_agent_watch_from_events" {
  statement_id  = "AllowScheduleInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.ecs_agent_watch.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.ecs_agent_watch.arn
}

# Missing data breaches: no point means the watch did not run or could not read the cluster
# (it then puts WatchErrors = 1 and no DisconnectedAgents point).
resource "aws_cloudwatch_metric_alarm" "ecs_agent_disconnected" {
  for_each            = toset(var.ecs_cluster_names)
  alarm_name          = "ecs-${each.value}-agent-disconnected"
  alarm_description   = "ECS cluster ${each.value}: an ACTIVE container instance's agent is disconnected (ECS cannot place or stop tasks there), or the watch could not look. See the ${var.ecs_agent_watch_function_name} topic and log group for which instance."
  namespace           = var.ecs_agent_watch_namespace
  metric_name         = "DisconnectedAgents"
  dimensions          = { ClusterName = each.value }
  statistic           = "Maximum"
  period              = var.ecs_agent_watch_alarm_period
  evaluation_periods  = var.ecs_agent_watch_alarm_periods
  datapoints_to_alarm = var.ecs_agent_watch_alarm_periods
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.ecs_alarm_actions
  ok_actions          = local.ecs_alarm_actions
}
