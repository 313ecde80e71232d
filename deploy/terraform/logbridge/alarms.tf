# Alarms on the fluentd metrics; the same definitions as `shipper alarms` (shipper/alarms.py).
# Each alarm is one entry of data below, and one resource makes them all, so a new alarm is a
# new entry, not a new block. tests/lambdas/fluentd_metrics/test_terraform.py plans the module
# and checks every field of every alarm against `shipper alarms`; tests/shipper/test_alarms.py
# reads the entries and checks them against the handler's metric names.
#
# Addresses: aws_cloudwatch_metric_alarm.fluentd["<alarm name without the prefix>"], e.g.
# fluentd["out_bq_app-retries-rising"], fluentd["status-missing"]. Before, each kind of alarm was
# its own resource (aws_cloudwatch_metric_alarm.retries_rising["out_bq_app"], ...); the moved
# and removed blocks at the end take an existing deployment over without deleting an alarm.

locals {
  alarm_actions = var.alarm_actions

  # Events that must not happen at all: Sum > 0 in one period.
  any_event = {
    statistic          = "Sum"
    periods            = 1
    threshold          = 0
    comparison         = "GreaterThanThreshold"
    treat_missing_data = "notBreaching"
  }

  # One alarm per watched output (dimension PluginId); the description follows
  # "fluentd output <id> ". `periods` is both evaluation periods and datapoints to alarm.
  per_output_alarms = {
    retries-rising = {
      metric_name        = "retry_count_increase"
      statistic          = "Sum"
      periods            = var.retry_alarm_periods
      threshold          = 0
      comparison         = "GreaterThanThreshold"
      treat_missing_data = "notBreaching"
      description        = "retried in each of ${var.retry_alarm_periods} periods of ${var.alarm_period}s: its destination keeps failing; chunks are dropped when retries run out."
    }
    queued-bytes-high = {
      metric_name        = "buffer_total_queued_size"
      statistic          = "Maximum"
      periods            = 3
      threshold          = var.queued_bytes_threshold
      comparison         = "GreaterThanThreshold"
      treat_missing_data = "notBreaching"
      description        = "holds more than ${var.queued_bytes_threshold} bytes in its buffer."
    }
    buffer-space-low = {
      metric_name        = "buffer_available_buffer_space_ratios"
      statistic          = "Minimum"
      periods            = 2
      threshold          = var.space_ratio_threshold
      comparison         = "LessThanThreshold"
      treat_missing_data = "notBreaching"
      description        = "has less than ${var.space_ratio_threshold}% buffer space left; when it is full, records are refused (buffer overflow)."
    }
    chunks-dropped = merge(local.any_event, {
      metric_name = "log_retry_limit_hit"
      description = "hit its retry limit and dropped the chunks in its buffer queue: those records are lost (fluentd's log line says how many)."
    })
    insert-errors = merge(local.any_event, {
      metric_name = "log_insert_errors"
      description = "had rows refused by BigQuery (insert errors): without a <secondary> those rows are lost; the warn line names the rows and reasons."
    })
    secondary-written = merge(local.any_event, {
      metric_name = "log_secondary_written"
      description = "wrote a chunk to its <secondary> file: the records are not in BigQuery and wait for a replay (shipper load)."
    })
  }

  # Alarms without PluginId: the whole fluentd, its router, the Lambda.
  global_alarms = {
    # No status line at all: fluentd, its log shipping or the Lambda is down. Missing data breaches.
    status-missing = {
      metric_name        = "status_lines"
      statistic          = "SampleCount"
      periods            = var.missing_status_periods
      threshold          = 1
      comparison         = "LessThanThreshold"
      treat_missing_data = "breaching"
      description        = "No fluentd monitor_agent status line for ${var.missing_status_periods} periods of ${var.alarm_period}s: fluentd, its log shipping or the metrics Lambda is down."
    }
    # fluentd's router names no plugin when it hands records to @ERROR.
    error-events = merge(local.any_event, {
      metric_name = "log_error_events"
      description = "fluentd sent records to its @ERROR label (or only into its own log): they are not in BigQuery and wait for a replay."
    })
    metrics-over-budget = merge(local.any_event, {
      metric_name = "metrics_over_budget"
      description = "The fluentd metrics Lambda dropped metrics over its cardinality budget: forged status records, or a fleet that outgrew METRICS_MAX_METRICS_*."
    })
  }

  # Keyed by the alarm's name without "<alarm_prefix>-" (the same name shipper alarms gives it).
  fluentd_alarms = merge(
    { for pair in setproduct(var.watched_plugin_ids, keys(local.per_output_alarms)) :
      "${pair[0]}-${pair[1]}" => merge(local.per_output_alarms[pair[1]], {
        description = "fluentd output ${pair[0]} ${local.per_output_alarms[pair[1]].description}"
        dimensions  = { PluginId = pair[0] }
      })
    },
    { for name, alarm in local.global_alarms : name => merge(alarm, { dimensions = {} }) },
  )
}

resource "aws_cloudwatch_metric_alarm" "fluentd" {
  for_each            = local.fluentd_alarms
  alarm_name          = "${var.alarm_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = var.metrics_namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = var.alarm_period
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Taking over a deployment made before the alarms were data (each kind was its own resource).
# The alarms without PluginId move to their entries. The per-output kinds cannot: a moved block
# needs literal instance keys, and theirs are the watched plugin ids (Terraform has no dynamic
# moved block). Terraform forgets those old instances without deleting the alarms, and the
# entries' create is CloudWatch's PutMetricAlarm, which updates an alarm of the same name in
# place: the alarm, its state and its history stay. Apply the upgrade with the same
# alarm_prefix and watched_plugin_ids as before, so that every forgotten alarm is taken over by
# an entry of the same name (lambdas/README.md, "Terraform").
moved {
  from = aws_cloudwatch_metric_alarm.status_missing
  to   = aws_cloudwatch_metric_alarm.fluentd["status-missing"]
}

moved {
  from = aws_cloudwatch_metric_alarm.error_events
  to   = aws_cloudwatch_metric_alarm.fluentd["error-events"]
}

moved {
  from = aws_cloudwatch_metric_alarm.metrics_over_budget
  to   = aws_cloudwatch_metric_alarm.fluentd["metrics-over-budget"]
}

removed {
  from = aws_cloudwatch_metric_alarm.retries_rising
  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_cloudwatch_metric_alarm.queued_bytes_high
  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_cloudwatch_metric_alarm.buffer_space_low
  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_cloudwatch_metric_alarm.chunks_dropped
  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_cloudwatch_metric_alarm.insert_errors
  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_cloudwatch_metric_alarm.secondary_written
  lifecycle {
    destroy = false
  }
}
