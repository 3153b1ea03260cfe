# One regional runner: the Lambda from `make package`, its key, logs, dead-letter queue
# and IAM role (iam.tf), and EventBridge Scheduler schedules (schedules.tf).

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  region        = data.aws_region.current.name
  partition     = data.aws_partition.current.partition
  function_name = var.name_prefix
  log_group     = "/aws/lambda/${local.function_name}"
  region_label  = coalesce(var.region_label, local.region)

  layer_name = var.architecture == "arm64" ? "AWSSDKPandas-Python312-Arm64" : "AWSSDKPandas-Python312"
  layer_arn = coalesce(
    var.pandas_layer_arn,
    "arn:${local.partition}:lambda:${local.region}:336392948345:layer:${local.layer_name}:${lookup(var.pandas_layer_versions, local.region, 0)}",
  )

  # The handler's environment contract: names come from lambdas/runner/settings.py ENV_VARS
  # (tests/unit/test_terraform_runner.py checks this map against it).
  environment = {
    LENS_RESULTS_BUCKET      = var.results_bucket
    LENS_RESULTS_PREFIX      = var.results_prefix
    LENS_GLUE_DATABASE       = var.glue_database
    LENS_GLUE_TABLE_REQUESTS = var.glue_tables["requests"]
    LENS_GLUE_TABLE_CHUNKS   = var.glue_tables["chunks"]
    LENS_ALLOWED_BASE_URLS   = join(",", var.allowed_base_urls)
    LENS_MAX_CONCURRENCY     = tostring(var.max_concurrency)
    LENS_MAX_REQUESTS        = tostring(var.max_requests)
    LENS_API_KEY_SECRETS     = jsonencode(var.api_key_secrets)
    LENS_API_KEY_PARAMS      = jsonencode(var.api_key_params)
    LENS_REGION_LABEL        = local.region_label
    LENS_DEADLINE_MARGIN_MS  = tostring(var.deadline_margin_ms)
    LENS_RESULTS_REGION      = var.results_region
    # What an event may not exceed (refusal messages name these variables).
    LENS_API_KEY_URLS          = jsonencode(var.api_key_urls)
    LENS_MAX_OUTPUT_TOKENS     = tostring(var.max_output_tokens)
    LENS_MAX_PROMPT_TOKENS     = tostring(var.max_prompt_tokens)
    LENS_MAX_TIMEOUT_S         = tostring(var.max_timeout_s)
    LENS_MAX_EVENTS            = tostring(var.max_events)
    LENS_MAX_RESPONSE_BYTES    = tostring(var.max_response_bytes)
    LENS_MAX_CHUNK_ROWS        = tostring(var.max_chunk_rows)
    LENS_EXTRA_BODY_KEYS       = join(",", var.extra_body_keys)
    LENS_BEDROCK_ENDPOINT_URLS = join(",", var.bedrock_endpoint_urls)
  }
}

# Regional key for everything this runner stores: environment, logs, DLQ, schedule input.
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" names this key only; the root statement hands control to IAM policies (AWS default key policy).
  #checkov:skip=CKV_AWS_111:Key policy: "*" names this key only; service statements are limited by source account/encryption context.
  #checkov:skip=CKV_AWS_356:Key policy: "*" is the only valid resource in a key policy and means this key.
  statement {
    sid       = "EnableIamPolicies"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsOwnLogGroup"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:DescribeKey",
    ]
    resources = ["*"] # in a key policy "*" is this key
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group}"]
    }
  }
}

resource "aws_kms_key" "runner" {
  description             = "${var.name_prefix} (${local.region}): Lambda environment, logs, DLQ, schedules"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "runner" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.runner.key_id
}

resource "aws_cloudwatch_log_group" "runner" {
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.runner.arn
  tags              = var.tags
}

# Failed asynchronous invocations (scheduled runs) and failed schedule deliveries land here.
resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name_prefix}-dlq"
  message_retention_seconds         = 1209600 # 14 days, the maximum
  kms_master_key_id                 = aws_kms_key.runner.arn
  kms_data_key_reuse_period_seconds = 3600
  tags                              = var.tags
}

resource "aws_lambda_function" "runner" {
  #checkov:skip=CKV_AWS_117:The runner calls public LLM APIs and S3/Glue; a VPC would only add NAT cost and latency to what it measures.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile per account; the zip is built and hashed by `make package` (source_code_hash).
  function_name                  = local.function_name
  description                    = "LLM Latency Lens burst runner (${local.region_label})"
  role                           = aws_iam_role.runner.arn
  runtime                        = "python3.12"
  architectures                  = [var.architecture]
  handler                        = var.handler
  filename                       = var.package_zip
  source_code_hash               = filebase64sha256(var.package_zip)
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_s
  reserved_concurrent_executions = var.reserved_concurrency
  layers                         = [local.layer_arn]
  kms_key_arn                    = aws_kms_key.runner.arn

  environment {
    variables = local.environment
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tracing_config {
    mode = "PassThrough" # no sampling inside a timed burst; upstream trace headers still pass
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.runner.name
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.pandas_layer_arn != null || contains(keys(var.pandas_layer_versions), local.region)
      error_message = "No AWS SDK for pandas layer version for this region: add it to pandas_layer_versions (see its description) or set pandas_layer_arn."
    }
    precondition {
      condition     = var.timeout_s * 1000 > var.max_timeout_s * 1000 + var.deadline_margin_ms
      error_message = "timeout_s must exceed max_timeout_s plus deadline_margin_ms, so a request running its longest still leaves time to write the shard."
    }
  }

  depends_on = [aws_iam_role_policy.runner, aws_cloudwatch_log_group.runner]
}

resource "aws_lambda_function_event_invoke_config" "runner" {
  function_name                = aws_lambda_function.runner.function_name
  maximum_event_age_in_seconds = var.max_event_age_s
  maximum_retry_attempts       = var.async_retry_attempts
}
