# Inputs of the ECS cluster Lambdas: ecs_drain (lifecycle hook -> drain before scale-in) and
# ecs_agent_watch (scheduled check for disconnected ECS agents). See lambdas/ecs_*/README.md.

variable "ecs_cluster_names" {
  description = "ECS clusters the Lambdas act on (names, not ARNs). Their IAM policies allow only these."
  type        = list(string)

  validation {
    condition     = length(var.ecs_cluster_names) > 0 && alltrue([for c in var.ecs_cluster_names : can(regex("^[A-Za-z0-9_-]{1,255}$", c))])
    error_message = "At least one cluster; ECS cluster names are 1-255 letters, digits, hyphens and underscores."
  }
}

variable "ecs_asg_names" {
  description = "Auto Scaling groups of the clusters' EC2 instances: each gets the termination lifecycle hook."
  type        = list(string)

  validation {
    condition     = length(var.ecs_asg_names) > 0
    error_message = "At least one Auto Scaling group (an IAM statement with no resource is invalid)."
  }
}

variable "ecs_lambda_runtime" {
  description = "Lambda Python runtime of both ECS Lambdas (its boto3 is their only dependency)."
  type        = string
  default     = "python3.12"
}

variable "ecs_log_retention_days" {
  description = "Retention of the ECS Lambdas' own log groups."
  type        = number
  default     = 30
}

variable "ecs_drain_function_name" {
  description = "Name of the drain Lambda."
  type        = string
  default     = "ecs-drain"
}

variable "ecs_drain_lambda_zip" {
  description = "Path of dist/ecs_drain.zip built by `make lambda-zip` (default: the repo's dist/)."
  type        = string
  default     = null
}

variable "ecs_drain_hook_name" {
  description = "Name of the EC2_INSTANCE_TERMINATING lifecycle hook put on each ASG."
  type        = string
  default     = "ecs-drain"
}

variable "ecs_drain_heartbeat_timeout" {
  description = "Hook heartbeat timeout (30-7200 s). The Lambda heartbeats at each re-check, so this only bounds how long a dead re-check loop holds an instance before the hook's default result (CONTINUE) ends it."
  type        = number
  default     = 300

  validation {
    condition     = var.ecs_drain_heartbeat_timeout >= 30 && var.ecs_drain_heartbeat_timeout <= 7200
    error_message = "HeartbeatTimeout is 30 to 7200 seconds."
  }
}

variable "ecs_drain_recheck_delay" {
  description = "RECHECK_DELAY_SECONDS: wait between looks at a draining instance (1-900, SQS DelaySeconds); capped at half the heartbeat timeout."
  type        = number
  default     = 30

  validation {
    condition     = var.ecs_drain_recheck_delay >= 1 && var.ecs_drain_recheck_delay <= 900
    error_message = "ecs_drain_recheck_delay is 1 to 900 seconds."
  }
}

variable "ecs_drain_max_seconds" {
  description = "DRAIN_MAX_SECONDS: after this long since the termination started, the action is completed with ecs_drain_deadline_result even if tasks remain (capped below the hook's global timeout)."
  type        = number
  default     = 1800
}

variable "ecs_drain_deadline_result" {
  description = "DRAIN_DEADLINE_RESULT: CONTINUE (other hooks still run) or ABANDON. Either way a terminating instance terminates."
  type        = string
  default     = "CONTINUE"

  validation {
    condition     = contains(["CONTINUE", "ABANDON"], var.ecs_drain_deadline_result)
    error_message = "ecs_drain_deadline_result must be CONTINUE or ABANDON."
  }
}

variable "ecs_cluster_tag_key" {
  description = "CLUSTER_TAG_KEY: instance tag naming the cluster, used when user data does not say it."
  type        = string
  default     = "ClusterName"
}

variable "ecs_agent_watch_function_name" {
  description = "Name of the agent watch Lambda."
  type        = string
  default     = "ecs-agent-watch"
}

variable "ecs_agent_watch_lambda_zip" {
  description = "Path of dist/ecs_agent_watch.zip built by `make lambda-zip` (default: the repo's dist/)."
  type        = string
  default     = null
}

variable "ecs_agent_watch_schedule" {
  description = "EventBridge schedule expression of the agent watch."
  type        = string
  default     = "rate(5 minutes)"
}

variable "ecs_agent_watch_namespace" {
  description = "METRIC_NAMESPACE of DisconnectedAgents / ActiveContainerInstances / WatchErrors; the IAM policy allows only this one."
  type        = string
  default     = "logbridge/ECS"
}

variable "ecs_agent_watch_alarm_period" {
  description = "Alarm period in seconds; match the schedule (300 for rate(5 minutes))."
  type        = number
  default     = 300
}

variable "ecs_agent_watch_alarm_periods" {
  description = "Alarm after this many consecutive periods with a disconnected agent (an agent reconnecting within one run is not worth a page)."
  type        = number
  default     = 2
}

variable "ecs_alarm_actions" {
  description = "SNS topic ARNs notified by the disconnected-agent alarms (default: the agent watch topic)."
  type        = list(string)
  default     = []
}
