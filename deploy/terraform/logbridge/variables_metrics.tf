# Inputs of the fluentd metrics bridge: Lambda (lambdas/fluentd_metrics), its subscription to
# fluentd's log group, and the alarms. Names match the handler's environment and shipper alarms.

variable "fluentd_log_group_name" {
  description = "CloudWatch Logs group that fluentd's stdout goes to (awslogs driver): the Lambda subscribes to it."
  type        = string
}

variable "metrics_function_name" {
  description = "Name of the fluentd metrics Lambda function (its log group is /aws/lambda/<name>)."
  type        = string
  default     = "fluentd-metrics"
}

variable "metrics_lambda_zip" {
  description = "Path of the zip built by `make lambda-zip` (default: dist/fluentd_metrics.zip in the repo)."
  type        = string
  default     = null
}

variable "metrics_runtime" {
  description = "Lambda Python runtime (its boto3 is the only dependency)."
  type        = string
  default     = "python3.12"
}

variable "metrics_namespace" {
  description = "METRICS_NAMESPACE: CloudWatch namespace of the metrics; the IAM policy allows only this one."
  type        = string
  default     = "fluentd"
}

variable "metrics_mode" {
  description = "METRICS_MODE: emf (Embedded Metric Format lines, no API call; the cheaper one per host, see lambdas/README.md) or api (PutMetricData)."
  type        = string
  default     = "emf"

  validation {
    condition     = contains(["api", "emf"], var.metrics_mode)
    error_message = "metrics_mode must be api or emf."
  }
}

variable "metrics_dimensions" {
  description = "METRICS_DIMENSIONS: dimension sets, ';' between sets, ',' between keys; every set has PluginId. Each extra set multiplies the number of billed custom metrics (see lambdas/README.md)."
  type        = string
  default     = "PluginId"
}

variable "metrics_timeout_seconds" {
  description = "The function's timeout. The handler keeps every API attempt inside it; at least one attempt (connect 2 s + read 5 s + 1 s) and the 5 s reserve must fit."
  type        = number
  default     = 60

  validation {
    condition     = var.metrics_timeout_seconds >= 15 && var.metrics_timeout_seconds <= 900
    error_message = "metrics_timeout_seconds: 15..900 (one PutMetricData attempt plus the EMF fallback's reserve must fit)."
  }
}

variable "metrics_max_event_age_seconds" {
  description = "How long a batch may wait in Lambda's asynchronous queue before it goes to the failed-invocations queue instead."
  type        = number
  default     = 21600
}

variable "metrics_max_per_invocation" {
  description = "METRICS_MAX_METRICS_PER_INVOCATION: distinct metrics (name x dimension values) one invocation may publish; the rest is dropped and counted in metrics_over_budget."
  type        = number
  default     = 1000
}

variable "metrics_max_per_plugin" {
  description = "METRICS_MAX_METRICS_PER_PLUGIN: distinct metric names one plugin id may publish in one invocation."
  type        = number
  default     = 64
}

variable "metrics_max_per_hour" {
  description = "METRICS_MAX_METRICS_PER_HOUR: distinct metrics the function may first publish in one clock hour (bounds the custom-metric bill)."
  type        = number
  default     = 2000
}

variable "metrics_log_retention_days" {
  description = "Retention of the Lambda's own log group (summaries, skipped lines, EMF lines)."
  type        = number
  default     = 14
}

variable "watched_plugin_ids" {
  description = "fluentd output @ids to alarm on (e.g. out_bigquery_access)."
  type        = list(string)
}

variable "alarm_prefix" {
  description = "Prefix of every alarm name (shipper alarms --prefix)."
  type        = string
  default     = "fluentd"
}

variable "alarm_period" {
  description = "Seconds per alarm period (a multiple of 60)."
  type        = number
  default     = 60
}

variable "retry_alarm_periods" {
  description = "Alarm when retries rise in this many consecutive periods."
  type        = number
  default     = 3
}

variable "queued_bytes_threshold" {
  description = "Alarm when an output buffers more than this many bytes."
  type        = number
  default     = 67108864
}

variable "space_ratio_threshold" {
  description = "Alarm when an output's available buffer space falls under this percentage."
  type        = number
  default     = 20
}

variable "missing_status_periods" {
  description = "Alarm after this many periods without any fluentd status line (fluentd down)."
  type        = number
  default     = 5
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified on ALARM and OK."
  type        = list(string)
  default     = []
}
