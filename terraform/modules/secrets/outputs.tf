output "secret_arns" {
  description = "Env var name -> secret ARN (the runner's api_key_secrets)."
  value       = { for k, s in aws_secretsmanager_secret.api_key : k => s.arn }
}

output "secret_names" {
  description = "Env var name -> secret name (for put-secret-value)."
  value       = { for k, s in aws_secretsmanager_secret.api_key : k => s.name }
}

output "kms_key_arn" {
  description = "KMS key encrypting the secrets (the runner's secrets_kms_key_arn)."
  value       = aws_kms_key.secrets.arn
}

output "region" {
  description = "Region of these secrets."
  value       = data.aws_region.current.name
}
