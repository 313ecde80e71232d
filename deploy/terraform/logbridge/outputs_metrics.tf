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
    [for a in aws_cloudwatch_metric_alarm.fluentd : a.alarm_name],
    [aws_cloudwatch_metric_alarm.fluentd_metrics_failed.alarm_name],
  )
}

output "fluentd_metrics_failed_queue_url" {
  description = "SQS queue holding the batches the metrics Lambda failed or never ran (to replay)."
  value       = aws_sqs_queue.fluentd_metrics_failed.url
}
