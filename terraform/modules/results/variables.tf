variable "name_prefix" {
  description = "Prefix for every resource name (bucket, key alias, workgroup)."
  type        = string
  default     = "lens"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be 2-31 lowercase letters, digits or '-', starting with a letter."
  }
}

variable "bucket_name" {
  description = "Results bucket name (globally unique). null: \"<name_prefix>-results-<account>-<region>\"."
  type        = string
  default     = null
}

variable "results_prefix" {
  description = "Key prefix of the lake inside the bucket (the runner's LENS_RESULTS_PREFIX)."
  type        = string
  default     = "lens"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$", var.results_prefix))
    error_message = "results_prefix must be a key prefix without leading/trailing '/', e.g. \"lens\"."
  }
}

variable "glue_database" {
  description = "Glue database holding the requests/chunks tables (the runner's LENS_GLUE_DATABASE)."
  type        = string
  default     = "lens"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,254}$", var.glue_database))
    error_message = "glue_database must be lowercase letters, digits and '_' (Athena-safe)."
  }
}

variable "regions" {
  description = "Region labels the runners write (the enum values of the region partition projection)."
  type        = list(string)

  validation {
    condition     = length(var.regions) > 0
    error_message = "regions must list at least one runner region."
  }
}

variable "partition_projection" {
  description = <<-EOT
    false (default): partitions are registered in Glue by the runner after each write (glue:BatchCreatePartition),
    so Athena can query across runs with any predicate. true: Athena partition projection (dt date, region enum,
    run_id injected): no partition registration needed, but every query must pin run_id with '='
    (see docs/deployment.md, "Partitions").
  EOT
  type        = bool
  default     = false
}

variable "projection_start_date" {
  description = "First dt (yyyy-MM-dd) of the dt date projection range; the range ends at NOW."
  type        = string
  default     = "2024-01-01"

  validation {
    condition     = can(regex("^\\d{4}-\\d{2}-\\d{2}$", var.projection_start_date))
    error_message = "projection_start_date must be yyyy-MM-dd."
  }
}

variable "ia_transition_days" {
  description = "Days before objects move to S3 Standard-IA. S3 refuses fewer than 30 for STANDARD_IA."
  type        = number
  default     = 30

  validation {
    condition     = var.ia_transition_days >= 30
    error_message = "S3 lifecycle rejects STANDARD_IA transitions earlier than 30 days after creation."
  }
}

variable "archive_transition_days" {
  description = "Days before objects move to the archive storage class."
  type        = number
  default     = 90
}

variable "archive_storage_class" {
  description = "GLACIER_IR keeps old rows queryable by Athena; GLACIER/DEEP_ARCHIVE are cheaper but Athena skips them."
  type        = string
  default     = "GLACIER_IR"

  validation {
    condition     = contains(["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], var.archive_storage_class)
    error_message = "archive_storage_class must be GLACIER_IR, GLACIER or DEEP_ARCHIVE."
  }
}

variable "expiration_days" {
  description = "Days after which result objects are deleted (0: never)."
  type        = number
  default     = 730

  validation {
    condition     = var.expiration_days == 0 || var.expiration_days > 90
    error_message = "expiration_days must be 0 (never) or later than the archive transition (> 90)."
  }
}

variable "noncurrent_expiration_days" {
  description = "Days a replaced or deleted object version is kept (versioning protects against overwrites)."
  type        = number
  default     = 30
}

variable "athena_results_expiration_days" {
  description = "Days Athena query results are kept under athena-results/."
  type        = number
  default     = 7
}

variable "athena_bytes_scanned_cutoff" {
  description = "Per-query scan limit of the workgroup, in bytes (minimum 10 MB)."
  type        = number
  default     = 10737418240 # 10 GiB

  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10485760
    error_message = "Athena requires bytes_scanned_cutoff_per_query >= 10485760 (10 MB)."
  }
}

variable "access_log_bucket" {
  description = "Existing bucket for S3 server access logs (SSE-S3, in this region). null: no access logging."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete a non-empty bucket (all results are lost)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
