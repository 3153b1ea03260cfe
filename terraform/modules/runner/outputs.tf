output "region" {
  description = "Region the runner is deployed in."
  value       = local.region
}

output "region_label" {
  description = "Region label the runner writes into rows (LENS_REGION_LABEL)."
  value       = local.region_label
}

output "function_name" {
  description = "Lambda function name."
  value       = aws_lambda_function.runner.function_name
}

output "function_arn" {
  description = "Lambda function ARN."
  value       = aws_lambda_function.runner.arn
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.runner.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.runner.name
}

output "dlq_arn" {
  description = "Dead-letter queue for failed async invocations and schedule deliveries."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Dead-letter queue name (for alarms)."
  value       = aws_sqs_queue.dlq.name
}

output "kms_key_arn" {
  description = "The runner's regional KMS key."
  value       = aws_kms_key.runner.arn
}

output "layer_arn" {
  description = "AWS SDK for pandas layer attached to the function."
  value       = local.layer_arn
}

output "schedule_names" {
  description = "EventBridge Scheduler schedule names."
  value       = [for s in aws_scheduler_schedule.burst : s.name]
}
