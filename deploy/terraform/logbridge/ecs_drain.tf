# Drain an ECS container instance before Auto Scaling terminates it (lambdas/ecs_drain).
#
#   ASG scale-in -> lifecycle hook (EC2_INSTANCE_TERMINATING) -> SNS topic -> Lambda ecs_drain
#     -> ECS DRAINING; tasks left: heartbeat + SQS re-check with DelaySeconds -> Lambda again
#     -> no tasks left (or deadline): CompleteLifecycleAction -> the instance terminates.

data "aws_region" "ecs" {}
data "aws_caller_identity" "ecs" {}

locals {
  ecs_region     = data.aws_region.ecs.name
  ecs_account_id = data.aws_caller_identity.ecs.account_id
  ecs_drain_dir  = "${path.module}/../../../lambdas/ecs_drain"
  ecs_drain_zip  = coalesce(var.ecs_drain_lambda_zip, "${path.module}/../../../dist/ecs_drain.zip")

  # iam_policy.json is valid JSON; `{cluster}` and `{asg}` in a Resource stand for each name of
  # var.ecs_cluster_names / var.ecs_asg_names (one ARN per name, expanded below), `${...}` are
  # templatefile variables. tests/lambdas/ecs_drain/test_deploy.py expands it the same way.
  ecs_drain_policy_doc = jsondecode(templatefile("${local.ecs_drain_dir}/iam_policy.json", {
    region        = local.ecs_region
    account_id    = local.ecs_account_id
    function_name = var.ecs_drain_function_name
    queue_arn     = aws_sqs_queue.ecs_drain_recheck.arn
  }))
  ecs_drain_policy = jsonencode({
    Version = local.ecs_drain_policy_doc.Version
    Statement = [for s in local.ecs_drain_policy_doc.Statement : merge(s, {
      Resource = flatten([for r in flatten([s.Resource]) :
        strcontains(r, "{cluster}") ? [for c in var.ecs_cluster_names : replace(r, "{cluster}", c)] :
        strcontains(r, "{asg}") ? [for a in var.ecs_asg_names : replace(r, "{asg}", a)] : [r]
      ])
    })]
  })
}

# -- the hook and its topic ------------------------------------------------------------------------

resource "aws_sns_topic" "ecs_drain" {
  name = "${var.ecs_drain_function_name}-lifecycle"
}

data "aws_iam_policy_document" "ecs_drain_hook_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["autoscaling.amazonaws.com"]
    }
  }
}

# Auto Scaling publishes the lifecycle notification with this role: Publish to this topic only
# (the managed AutoScalingNotificationAccessRole would allow every topic and SQS queue).
resource "aws_iam_role" "ecs_drain_hook" {
  name               = "${var.ecs_drain_function_name}-hook-role"
  assume_role_policy = data.aws_iam_policy_document.ecs_drain_hook_assume.json
}

resource "aws_iam_role_policy" "ecs_drain_hook" {
  name = "${var.ecs_drain_function_name}-hook-publish"
  role = aws_iam_role.ecs_drain_hook.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sns:Publish", Resource = aws_sns_topic.ecs_drain.arn }]
  })
}

resource "aws_autoscaling_lifecycle_hook" "ecs_drain" {
  for_each               = toset(var.ecs_asg_names)
  name                   = var.ecs_drain_hook_name
  autoscaling_group_name = each.value
  lifecycle_transition   = "autoscaling:EC2_INSTANCE_TERMINATING"
  heartbeat_timeout      = var.ecs_drain_heartbeat_timeout
  # If the Lambda's loop dies, the instance still terminates one heartbeat timeout later.
  default_result          = "CONTINUE"
  notification_target_arn = aws_sns_topic.ecs_drain.arn
  role_arn                = aws_iam_role.ecs_drain_hook.arn
  notification_metadata   = jsonencode({ source = "logbridge", hook = var.ecs_drain_hook_name })
  depends_on              = [aws_iam_role_policy.ecs_drain_hook, aws_sns_topic_subscription.ecs_drain]
}

# -- the re-check queue ------------------------------------------------------------------------------

resource "aws_sqs_queue" "ecs_drain_recheck_dlq" {
  name                      = "${var.ecs_drain_function_name}-recheck-dlq"
  message_retention_seconds = 1209600
}

resource "aws_sqs_queue" "ecs_drain_recheck" {
  name = "${var.ecs_drain_function_name}-recheck"
  # Lambda's advice for SQS sources: at least six times the function timeout.
  visibility_timeout_seconds = 6 * 60
  message_retention_seconds  = 86400
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.ecs_drain_recheck_dlq.arn
    maxReceiveCount     = 5
  })
}

# -- the function ------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "ecs_drain" {
  name              = "/aws/lambda/${var.ecs_drain_function_name}"
  retention_in_days = var.ecs_log_retention_days
}

data "aws_iam_policy_document" "ecs_lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ecs_drain" {
  name               = "${var.ecs_drain_function_name}-role"
  assume_role_policy = data.aws_iam_policy_document.ecs_lambda_assume.json
}

resource "aws_iam_role_policy" "ecs_drain" {
  name   = "${var.ecs_drain_function_name}-policy"
  role   = aws_iam_role.ecs_drain.id
  policy = local.ecs_drain_policy
}

resource "aws_lambda_function" "ecs_drain" {
  function_name    = var.ecs_drain_function_name
  role             = aws_iam_role.ecs_drain.arn
  runtime          = var.ecs_lambda_runtime
  handler          = "handler.handler"
  filename         = local.ecs_drain_zip
  source_code_hash = filebase64sha256(local.ecs_drain_zip)
  memory_size      = 128
  # A look is a handful of API calls; it never waits for the drain itself.
  timeout = 60

  environment {
    variables = {
      RECHECK_QUEUE_URL      = aws_sqs_queue.ecs_drain_recheck.url
      RECHECK_DELAY_SECONDS  = tostring(var.ecs_drain_recheck_delay)
      DRAIN_MAX_SECONDS      = tostring(var.ecs_drain_max_seconds)
      DRAIN_DEADLINE_RESULT  = var.ecs_drain_deadline_result
      HOOK_HEARTBEAT_SECONDS = tostring(var.ecs_drain_heartbeat_timeout)
      CLUSTER_TAG_KEY        = var.ecs_cluster_tag_key
    }
  }

  depends_on = [aws_cloudwatch_log_group.ecs_drain, aws_iam_role_policy.ecs_drain]
}

resource "aws_lambda_permission" "ecs_drain_from_sns" {
  statement_id  = "AllowLifecycleTopicInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.ecs_drain.function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.ecs_drain.arn
}

resource "aws_sns_topic_subscription" "ecs_drain" {
  topic_arn  = aws_sns_topic.ecs_drain.arn
  protocol   = "lambda"
  endpoint   = aws_lambda_function.ecs_drain.arn
  depends_on = [aws_lambda_permission.ecs_drain_from_sns]
}

resource "aws_lambda_event_source_mapping" "ecs_drain_recheck" {
  event_source_arn        = aws_sqs_queue.ecs_drain_recheck.arn
  function_name           = aws_lambda_function.ecs_drain.arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]
}
