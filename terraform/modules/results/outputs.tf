output "bucket" {
  description = "Results bucket name (LENS_RESULTS_BUCKET)."
  value       = aws_s3_bucket.results.bucket
}

output "bucket_arn" {
  description = "Results bucket ARN."
  value       = aws_s3_bucket.results.arn
}

output "prefix" {
  description = "Lake key prefix (LENS_RESULTS_PREFIX)."
  value       = var.results_prefix
}

output "region" {
  description = "Region of the bucket, the Glue catalog and the Athena workgroup."
  value       = local.region
}

output "kms_key_arn" {
  description = "KMS key encrypting the lake and the Athena results."
  value       = aws_kms_key.results.arn
}

output "glue_database" {
  description = "Glue database (LENS_GLUE_DATABASE)."
  value       = aws_glue_catalog_database.lens.name
}

output "glue_tables" {
  description = "Lake table names by role: {requests = ..., chunks = ...}."
  value       = { for k, t in aws_glue_catalog_table.lake : k => t.name }
}

output "glue_table_arns" {
  description = "Glue table ARNs, for the runners' partition-write permissions."
  value       = [for t in aws_glue_catalog_table.lake : t.arn]
}

output "glue_database_arn" {
  description = "Glue database ARN."
  value       = aws_glue_catalog_database.lens.arn
}

output "glue_catalog_arn" {
  description = "Glue Data Catalog ARN of the results region."
  value       = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
}

output "athena_workgroup" {
  description = "Athena workgroup name (for lens.load(athena=...))."
  value       = aws_athena_workgroup.lens.name
}

output "athena_output_location" {
  description = "Where the workgroup writes query results."
  value       = "s3://${aws_s3_bucket.results.bucket}/athena-results/"
}
