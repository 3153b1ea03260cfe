# Example fleet: the results lake once (us-east-1), a runner in three regions, per-region
# API key secrets and alarms, one account budget. See terraform/README.md.

locals {
  runner_regions = ["us-east-1", "eu-west-1", "ap-south-1"]

  schedules = var.enable_schedules ? {
    hourly-openai = {
      schedule_expression = "rate(1 hour)"
      spec                = jsonencode(yamldecode(file("${path.module}/specs/hourly-openai.yaml")))
      description         = "Hourly small OpenAI burst"
    }
  } : {}

  # Settings shared by every runner.
  runner = {
    package_zip         = var.package_zip
    results_bucket      = module.results.bucket
    results_bucket_arn  = module.results.bucket_arn
    results_prefix      = module.results.prefix
    results_region      = module.results.region
    results_kms_key_arn = module.results.kms_key_arn
    glue_database       = module.results.glue_database
    glue_tables         = module.results.glue_tables
    api_key_urls        = var.api_key_urls
    max_output_tokens   = var.max_output_tokens
    max_prompt_tokens   = var.max_prompt_tokens
    bedrock_model_arns  = var.bedrock_model_arns
  }
}

module "results" {
  source = "../../modules/results"

  bucket_name = var.bucket_name
  regions     = local.runner_regions
}

# --- us-east-1 ---------------------------------------------------------------

module "secrets_us_east_1" {
  source    = "../../modules/secrets"
  providers = { aws = aws.us_east_1 }

  api_keys = var.api_keys
}

module "runner_us_east_1" {
  source    = "../../modules/runner"
  providers = { aws = aws.us_east_1 }

  package_zip         = local.runner.package_zip
  results_bucket      = local.runner.results_bucket
  results_bucket_arn  = local.runner.results_bucket_arn
  results_prefix      = local.runner.results_prefix
  results_region      = local.runner.results_region
  results_kms_key_arn = local.runner.results_kms_key_arn
  glue_database       = local.runner.glue_database
  glue_tables         = local.runner.glue_tables
  allowed_base_urls   = var.allowed_base_urls
  api_key_urls        = local.runner.api_key_urls
  max_output_tokens   = local.runner.max_output_tokens
  max_prompt_tokens   = local.runner.max_prompt_tokens
  bedrock_model_arns  = local.runner.bedrock_model_arns
  api_key_secrets     = module.secrets_us_east_1.secret_arns
  secrets_kms_key_arn = module.secrets_us_east_1.kms_key_arn
  schedules           = local.schedules
}

module "alerts_us_east_1" {
  source    = "../../modules/budget"
  providers = { aws = aws.us_east_1 }

  monthly_limit_usd = var.monthly_budget_usd # the one account budget
  alert_emails      = var.alert_emails
  function_names    = [module.runner_us_east_1.function_name]
  dlq_names         = [module.runner_us_east_1.dlq_name]
}

# --- eu-west-1 ---------------------------------------------------------------

module "secrets_eu_west_1" {
  source    = "../../modules/secrets"
  providers = { aws = aws.eu_west_1 }

  api_keys = var.api_keys
}

module "runner_eu_west_1" {
  source    = "../../modules/runner"
  providers = { aws = aws.eu_west_1 }

  package_zip         = local.runner.package_zip
  results_bucket      = local.runner.results_bucket
  results_bucket_arn  = local.runner.results_bucket_arn
  results_prefix      = local.runner.results_prefix
  results_region      = local.runner.results_region
  results_kms_key_arn = local.runner.results_kms_key_arn
  glue_database       = local.runner.glue_database
  glue_tables         = local.runner.glue_tables
  allowed_base_urls   = var.allowed_base_urls
  api_key_urls        = local.runner.api_key_urls
  max_output_tokens   = local.runner.max_output_tokens
  max_prompt_tokens   = local.runner.max_prompt_tokens
  bedrock_model_arns  = local.runner.bedrock_model_arns
  api_key_secrets     = module.secrets_eu_west_1.secret_arns
  secrets_kms_key_arn = module.secrets_eu_west_1.kms_key_arn
  schedules           = local.schedules
}

module "alerts_eu_west_1" {
  source    = "../../modules/budget"
  providers = { aws = aws.eu_west_1 }

  alert_emails   = var.alert_emails
  function_names = [module.runner_eu_west_1.function_name]
  dlq_names      = [module.runner_eu_west_1.dlq_name]
}

# --- ap-south-1 --------------------------------------------------------------

module "secrets_ap_south_1" {
  source    = "../../modules/secrets"
  providers = { aws = aws.ap_south_1 }

  api_keys = var.api_keys
}

module "runner_ap_south_1" {
  source    = "../../modules/runner"
  providers = { aws = aws.ap_south_1 }

  package_zip         = local.runner.package_zip
  results_bucket      = local.runner.results_bucket
  results_bucket_arn  = local.runner.results_bucket_arn
  results_prefix      = local.runner.results_prefix
  results_region      = local.runner.results_region
  results_kms_key_arn = local.runner.results_kms_key_arn
  glue_database       = local.runner.glue_database
  glue_tables         = local.runner.glue_tables
  allowed_base_urls   = var.allowed_base_urls
  api_key_urls        = local.runner.api_key_urls
  max_output_tokens   = local.runner.max_output_tokens
  max_prompt_tokens   = local.runner.max_prompt_tokens
  bedrock_model_arns  = local.runner.bedrock_model_arns
  api_key_secrets     = module.secrets_ap_south_1.secret_arns
  secrets_kms_key_arn = module.secrets_ap_south_1.kms_key_arn
  schedules           = local.schedules
}

module "alerts_ap_south_1" {
  source    = "../../modules/budget"
  providers = { aws = aws.ap_south_1 }

  alert_emails   = var.alert_emails
  function_names = [module.runner_ap_south_1.function_name]
  dlq_names      = [module.runner_ap_south_1.dlq_name]
}
