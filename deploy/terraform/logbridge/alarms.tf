# Alarms on the fluentd metrics; the same definitions as `shipper alarms` (shipper/alarms.py).
# A test (tests/shipper/test_alarms.py) checks names, metrics, statistics and comparisons agree.

locals {
  alarm_actions = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "retries_rising" {
  for_each            = toset(var.watched_plugin_ids)
  alarm_name          = "${var.alarm_prefix}-${each.value}-retries-rising"
  alarm_description   = "fluentd output ${each.value} retried in each of ${var.retry_alarm_periods} periods of ${var.alarm_period}s: its destination keeps failing; chunks are dropped when retries run out."
  namespace           = var.metrics_namespace
  metric_name         = "retry_count_increase"
  dimensions          = { PluginId = each.value }
  statistic           = "Sum"
  period              = var.alarm_period
  evaluation_periods  = var.retry_alarm_periods
  datapoints_to_alarm = var.retry_alarm_periods
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "queued_bytes_high" {
  for_each            = toset(var.watched_plugin_ids)
  alarm_name          = "${var.alarm_prefix}-${each.value}-queued-bytes-high"
  alarm_description   = "fluentd output ${each.value} holds more than ${var.queued_bytes_threshold} bytes in its buffer."
  namespace           = var.metrics_namespace
  metric_name         = "buffer_total_queued_size"
  dimensions          = { PluginId = each.value }
  statistic           = "Maximum"
  period              = var.alarm_period
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold           = var.queued_bytes_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "buffer_space_low" {
  for_each            = toset(var.watched_plugin_ids)
  alarm_name          = "${var.alarm_prefix}-${each.value}-buffer-space-low"
  alarm_description   = "fluentd output ${each.value} has less than ${var.space_ratio_threshold}% buffer space left; when it is full, records are refused (buffer overflow)."
  namespace           = var.metrics_namespace
  metric_name         = "buffer_available_buffer_space_ratios"
  dimensions          = { PluginId = each.value }
  statistic           = "Minimum"
  period              = var.alarm_period
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  threshold           = var.space_ratio_threshold
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# No status line at all: fluentd, its log shipping or the Lambda is down. Missing data breaches.
resource "aws_cloudwatch_metric_alarm" "status_missing" {
  alarm_name          = "${var.alarm_prefix}-status-missing"
  alarm_description   = "No fluentd monitor_agent status line for ${var.missing_status_periods} periods of ${var.alarm_period}s: fluentd, its log shipping or the metrics Lambda is down."
  namespace           = var.metrics_namespace
  metric_name         = "status_lines"
  statistic           = "SampleCount"
  period              = var.alarm_period
  evaluation_periods  = var.missing_status_periods
  datapoints_to_alarm = var.missing_status_periods
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Events that must not happen at all, per watched output: Sum > 0 in one period.
locals {
  event_alarms = {
    chunks_dropped = {
      description = "hit its retry limit and dropped the chunks in its buffer queue: those records are lost (fluentd's log line says how many)."
    }
    insert_errors = {
      description = "had rows refused by BigQuery (insert errors): without a <secondary> those rows are lost; the warn line names the rows and reasons."
    }
    secondary_written = {
      description = "wrote a chunk to its <secondary> file: the records are not in BigQuery and wait for a replay (shipper load)."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "chunks_dropped" {
  for_each            = toset(var.watched_plugin_ids)
  alarm_name          = "${var.alarm_prefix}-${each.value}-chunks-dropped"
  alarm_description   = "fluentd output ${each.value} ${local.event_alarms.chunks_dropped.description}"
  namespace           = var.metrics_namespace
  metric_name         = "log_retry_limit_hit"
  dimensions          = { PluginId = each.value }
  statistic           = "Sum"
  period              = var.alarm_period
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "insert_errors" {
  for_each            = toset(var.watched_plugin_ids)
  alarm_name          = "${var.alarm_prefix}-${each.value}-insert-errors"
  alarm_description   = "fluentd output ${each.value} ${local.event_alarms.insert_errors.description}"
  namespace           = var.metrics_namespace
  metric_name         = "log_insert_errors"
  dimensions          = { PluginId = each.value }
  statistic           = "Sum"
  period              = var.alarm_period
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "secondary_written" {
  for_each            = toset(var.watched_plugin_ids)
  alarm_name          = "${var.alarm_prefix}-${each.value}-secondary-written"
  alarm_description   = "fluentd output ${each.value} ${local.event_alarms.secondary_written.description}"
  namespace           = var.metrics_namespace
  metric_name         = "log_secondary_written"
  dimensions          = { PluginId = each.value }
  statistic           = "Sum"
  period              = var.alarm_period
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Without PluginId: fluentd's router names no plugin when it hands records to @ERROR.
resource "aws_cloudwatch_metric_alarm" "error_events" {
  alarm_name          = "${var.alarm_prefix}-error-events"
  alarm_description   = "fluentd sent records to its @ERROR label (or only into its own log): they are not in BigQuery and wait for a replay."
  namespace           = var.metrics_namespace
  metric_name         = "log_error_events"
  statistic           = "Sum"
  period              = var.alarm_period
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "metrics_over_budget" {
  alarm_name          = "${var.alarm_prefix}-metrics-over-budget"
  alarm_description   = "The fluentd metrics Lambda dropped metrics over its cardinality budget: forged status records, or a fleet that outgrew METRICS_MAX_METRICS_*."
  namespace           = var.metrics_namespace
  metric_name         = "metrics_over_budget"
  statistic           = "Sum"
  period              = var.alarm_period
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
