variable "name_prefix" {
  description = "Function name and prefix of every resource of this runner (regional, so it may repeat across regions)."
  type        = string
  default     = "lens-runner"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 2-41 letters, digits or '-', starting with a letter."
  }
}

variable "package_zip" {
  description = "Path to the deployment zip built by `make package` (lambdas/runner/dist/runner-arm64.zip)."
  type        = string
}

variable "handler" {
  description = "Handler inside the zip."
  type        = string
  default     = "handler.handler"
}

variable "architecture" {
  description = "arm64 (default, cheaper per GB-s) or x86_64; the zip and the layer must match."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_mb" {
  description = "Lambda memory (MB); CPU and network share scale with it."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_mb >= 256 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 256 and 10240."
  }
}

variable "timeout_s" {
  description = "Lambda timeout (s). Every request ends LENS_DEADLINE_MARGIN_MS before it (the rest is for the S3 write); it must exceed max_timeout_s plus that margin."
  type        = number
  default     = 330

  validation {
    condition     = var.timeout_s >= 30 && var.timeout_s <= 900
    error_message = "timeout_s must be between 30 and 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions: a hard cap on parallel bursts (and on spend) in this region."
  type        = number
  default     = 10

  validation {
    condition     = var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be at least 1 (0 would disable the function)."
  }
}

variable "pandas_layer_versions" {
  description = <<-EOT
    Version of the AWS SDK for pandas managed layer (AWSSDKPandas-Python312[-Arm64], account 336392948345) per
    region. Versions differ by region and release: take them from the table at
    https://aws-sdk-pandas.readthedocs.io/en/stable/layers.html (one release for every region), or check one with
    `aws lambda get-layer-version-by-arn --arn <arn>`. The defaults were seen in public use, not verified here.
  EOT
  type        = map(number)
  default = {
    "us-east-1"  = 20
    "eu-west-1"  = 15
    "ap-south-1" = 16
  }
}

variable "pandas_layer_arn" {
  description = "Full layer ARN overriding pandas_layer_versions (e.g. a layer you built)."
  type        = string
  default     = null
}

variable "results_bucket" {
  description = "Results bucket name (results module output)."
  type        = string
}

variable "results_bucket_arn" {
  description = "Results bucket ARN."
  type        = string
}

variable "results_prefix" {
  description = "Lake key prefix; the runner may only PutObject under it."
  type        = string
  default     = "lens"
}

variable "results_kms_key_arn" {
  description = "KMS key of the results bucket (the runner needs GenerateDataKey/Decrypt on it)."
  type        = string
}

variable "glue_database" {
  description = "Glue database of the lake."
  type        = string
}

variable "glue_tables" {
  description = "Lake table names: {requests = \"requests\", chunks = \"chunks\"}."
  type        = map(string)
  default = {
    requests = "requests"
    chunks   = "chunks"
  }

  validation {
    condition     = alltrue([for k in ["requests", "chunks"] : contains(keys(var.glue_tables), k)])
    error_message = "glue_tables must name both the requests and the chunks table."
  }
}

variable "results_region" {
  description = "Region of the results bucket and of the Glue catalog holding the lake tables."
  type        = string
}

variable "allowed_base_urls" {
  description = "SSRF allow-list: the only base URLs a burst may call (scheme://host[:port][/path] prefixes)."
  type        = list(string)

  validation {
    condition     = length(var.allowed_base_urls) > 0 && alltrue([for u in var.allowed_base_urls : can(regex("^https?://[^/@?#,]+(/[^?#,]*)?$", u))])
    error_message = "allowed_base_urls must be non-empty http(s) URL prefixes without user-info, query or commas."
  }
}

variable "max_concurrency" {
  description = "Upper bound on a burst's concurrency, whatever the event asks for."
  type        = number
  default     = 16
}

variable "max_requests" {
  description = "Upper bound on a burst's request count, whatever the event asks for."
  type        = number
  default     = 200
}

variable "deadline_margin_ms" {
  description = "Time kept free before the Lambda deadline for writing the shard: no request starts after (deadline - margin) and requests still running there are cut and recorded as timeouts."
  type        = number
  default     = 5000

  validation {
    condition     = var.deadline_margin_ms >= 2000
    error_message = "deadline_margin_ms must be at least 2000 (the S3 write and Glue partition need that long)."
  }
}

variable "max_timeout_s" {
  description = "Upper bound (s) on every timeout a burst spec sets (connect, first token, idle, total); an event asking for more gets this."
  type        = number
  default     = 300

  validation {
    condition     = var.max_timeout_s > 0 && var.max_timeout_s <= 890
    error_message = "max_timeout_s must be in (0, 890]: it must fit in the Lambda timeout (900 s at most) with the margin."
  }
}

variable "max_output_tokens" {
  description = "Largest max_tokens an event may ask for (output-length keys in a target's extra_body are held to it too)."
  type        = number
  default     = 8192
}

variable "max_prompt_tokens" {
  description = "Largest prompt an event may send: prompts.synthetic_tokens, and each inline prompt (all of them together at most 8 x this many characters)."
  type        = number
  default     = 32768
}

variable "max_events" {
  description = "Stream events kept per response; a longer stream is cut and recorded as truncated (an event cannot raise it)."
  type        = number
  default     = 100000
}

variable "max_response_bytes" {
  description = "Response body bytes read per request; a larger response is cut and recorded as truncated (an event cannot raise it)."
  type        = number
  default     = 16777216
}

variable "max_chunk_rows" {
  description = "Chunk timing rows kept per request (the first ones; an event cannot raise it)."
  type        = number
  default     = 10000
}

variable "api_key_urls" {
  description = "Key env var name -> URL prefixes that key may be sent to besides its provider's own API, e.g. { GATEWAY_API_KEY = [\"https://llm.internal/v1\"] }."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for urls in values(var.api_key_urls) : alltrue([for u in urls : can(regex("^https?://[^/@?#,]+(/[^?#,]*)?$", u))])])
    error_message = "api_key_urls values must be lists of http(s) URL prefixes without user-info, query or commas."
  }
}

variable "extra_body_keys" {
  description = "extra_body keys an event may set beyond the runner's built-in list (lens.fleet.runner.policy.EXTRA_BODY_KEYS)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.extra_body_keys : can(regex("^[A-Za-z0-9_.-]+$", k))])
    error_message = "extra_body_keys must be plain key names."
  }
}

variable "bedrock_model_arns" {
  description = "Bedrock foundation-model (or inference-profile) ARNs the runner may invoke: bedrock:InvokeModel and InvokeModelWithResponseStream on exactly these. Empty: no Bedrock."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.bedrock_model_arns : can(regex("^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:([0-9]{12})?:(foundation-model|inference-profile)/[A-Za-z0-9._:-]+$", a))])
    error_message = "bedrock_model_arns must be foundation-model or inference-profile ARNs, without wildcards."
  }
}

variable "bedrock_endpoint_urls" {
  description = "Bedrock VPC endpoint URLs a Bedrock target may use besides https://bedrock-runtime.<region>.amazonaws.com."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.bedrock_endpoint_urls : can(regex("^https://[^/@?#,]+$", u))])
    error_message = "bedrock_endpoint_urls must be https://host URLs (no path, user-info, query or commas)."
  }
}

variable "region_label" {
  description = "Region label written into rows and partitions. null: this provider's region."
  type        = string
  default     = null
}

variable "api_key_secrets" {
  description = "Provider key env var name -> Secrets Manager secret ARN in this region (secrets module output)."
  type        = map(string)
  default     = {}
}

variable "secrets_kms_key_arn" {
  description = "KMS key encrypting those secrets (the runner may Decrypt only via Secrets Manager). null: none."
  type        = string
  default     = null
}

variable "api_key_params" {
  description = "Provider key env var name -> SSM SecureString parameter name in this region (alternative to secrets)."
  type        = map(string)
  default     = {}
}

variable "ssm_kms_key_arn" {
  description = "Customer managed key of those SSM parameters, if not aws/ssm. null: none."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the runner's log group."
  type        = number
  default     = 365
}

variable "max_event_age_s" {
  description = "Drop asynchronous (scheduled) invocations older than this: stale measurements are not wanted."
  type        = number
  default     = 3600
}

variable "async_retry_attempts" {
  description = "Retries of failed asynchronous invocations (a retry re-fires the whole burst; keys are idempotent)."
  type        = number
  default     = 0

  validation {
    condition     = var.async_retry_attempts >= 0 && var.async_retry_attempts <= 2
    error_message = "async_retry_attempts must be 0, 1 or 2."
  }
}

variable "schedules" {
  description = <<-EOT
    Scheduled bursts: name -> { schedule_expression = "rate(1 hour)" | "cron(...)", spec = JSON text of a BurstSpec
    (jsonencode({...}) or jsonencode(yamldecode(file("spec.yaml")))), timezone, enabled, description }.
    Each fires {"spec": ..., "run_id": "<name>-<execution id>", "region": <label>, "shard": 0} at this runner.
  EOT
  type = map(object({
    schedule_expression = string
    spec                = string
    timezone            = optional(string, "UTC")
    enabled             = optional(bool, true)
    description         = optional(string, "")
  }))
  default = {}

  validation {
    condition     = alltrue([for k, s in var.schedules : can(regex("^[a-z0-9][a-z0-9-]{0,19}$", k))])
    error_message = "schedule names must be 1-20 lowercase letters, digits or '-' (they prefix run ids, max 64 chars)."
  }

  validation {
    condition     = alltrue([for s in var.schedules : can(regex("^(rate|cron|at)\\(.+\\)$", s.schedule_expression))])
    error_message = "schedule_expression must be rate(...), cron(...) or at(...)."
  }

  validation {
    condition     = alltrue([for s in var.schedules : can(keys(jsondecode(s.spec)))])
    error_message = "each schedule's spec must be a JSON object (use jsonencode({...}))."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
