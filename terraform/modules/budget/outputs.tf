output "topic_arn" {
  description = "SNS topic receiving budget and alarm notifications in this region."
  value       = aws_sns_topic.alerts.arn
}

output "budget_name" {
  description = "Budget name, or null when this instance creates none."
  value       = one(aws_budgets_budget.monthly[*].name)
}

output "alarm_names" {
  description = "CloudWatch alarm names created in this region."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.throttles : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.dlq : a.alarm_name],
  )
}
