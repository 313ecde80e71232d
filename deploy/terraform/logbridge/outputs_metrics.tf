output "fluentd_metrics_function_arn" {
  description = "ARN of the fluentd metrics Lambda."
  value       = aws_lambda_function.fluentd_metrics.arn
}

output "fluentd_metrics_role_arn" {
  description = "ARN of the Lambda's least-privilege role."
  value       = aws_iam_role.fluentd_metrics.arn
}

output "fluentd_alarm_names" {
  description = "Every alarm on the fluentd metrics."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.retries_rising : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.queued_bytes_high : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.buffer_space_low : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.chunks_dropped : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.insert_errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.secondary_written : a.alarm_name],
    [
      aws_cloudwatch_metric_alarm.status_missing.alarm_name,
      aws_cloudwatch_metric_alarm.error_events.alarm_name,
      aws_cloudwatch_metric_alarm.metrics_over_budget.alarm_name,
      aws_cloudwatch_metric_alarm.fluentd_metrics_failed.alarm_name,
    ],
  )
}

output "fluentd_metrics_failed_queue_url" {
  description = "SQS queue holding the batches the metrics Lambda failed or never ran (to replay)."
  value       = aws_sqs_queue.fluentd_metrics_failed.url
}
