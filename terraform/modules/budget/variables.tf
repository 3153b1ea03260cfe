variable "name_prefix" {
  description = "Prefix of the topic, key alias, alarms and budget names."
  type        = string
  default     = "lens"
}

variable "monthly_limit_usd" {
  description = "Monthly cost budget in USD, alerting at 50/80/100% actual and 100% forecast. null: no budget (alarms only; budgets are account-wide, create one)."
  type        = number
  default     = null
}

variable "cost_filter_tag" {
  description = "Limit the budget to resources tagged key=value (an activated cost allocation tag), e.g. { key = \"project\", value = \"lens\" }. null: whole account."
  type = object({
    key   = string
    value = string
  })
  default = null
}

variable "alert_emails" {
  description = "Email addresses subscribed to the alert topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "extra_sns_topic_arns" {
  description = "Further SNS topics (same region) to notify, e.g. a chat integration."
  type        = list(string)
  default     = []
}

variable "function_names" {
  description = "Runner functions in this region to alarm on (Errors and Throttles)."
  type        = list(string)
  default     = []
}

variable "dlq_names" {
  description = "Runner dead-letter queues in this region: alarm when a message arrives."
  type        = list(string)
  default     = []
}

variable "errors_threshold" {
  description = "Errors per period that raise the alarm."
  type        = number
  default     = 1
}

variable "throttles_threshold" {
  description = "Throttles per period that raise the alarm (throttling skews latency numbers)."
  type        = number
  default     = 1
}

variable "alarm_period_s" {
  description = "Alarm evaluation period in seconds."
  type        = number
  default     = 300
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
