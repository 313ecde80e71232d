output "ecs_drain_function_arn" {
  description = "ARN of the drain Lambda."
  value       = aws_lambda_function.ecs_drain.arn
}

output "ecs_drain_topic_arn" {
  description = "SNS topic the termination lifecycle hooks notify."
  value       = aws_sns_topic.ecs_drain.arn
}

output "ecs_drain_recheck_queue_url" {
  description = "SQS queue of the drain Lambda's delayed re-checks (its DLQ holds re-checks that failed 5 times)."
  value       = aws_sqs_queue.ecs_drain_recheck.url
}

output "ecs_drain_lifecycle_hooks" {
  description = "The termination lifecycle hook per Auto Scaling group."
  value       = { for k, h in aws_autoscaling_lifecycle_hook.ecs_drain : k => h.name }
}

output "ecs_agent_watch_function_arn" {
  description = "ARN of the agent watch Lambda."
  value       = aws_lambda_function.ecs_agent_watch.arn
}

output "ecs_agent_watch_topic_arn" {
  description = "SNS topic of the per-run disconnected-agent messages (subscribe people or chat here)."
  value       = aws_sns_topic.ecs_agent_watch.arn
}

output "ecs_agent_alarm_names" {
  description = "The disconnected-agent alarm of each cluster."
  value       = [for a in aws_cloudwatch_metric_alarm.ecs_agent_disconnected : a.alarm_name]
}
