# Offline evaluation of the example's wiring: modules are replaced by their outputs
# (override_module) and providers are mocked, so no credentials or API calls are needed.
# Checks that the fleet config handed to `lens run --regions` lists every runner region.

mock_provider "aws" {}
mock_provider "aws" {
  alias = "us_east_1"
}
mock_provider "aws" {
  alias = "eu_west_1"
}
mock_provider "aws" {
  alias = "ap_south_1"
}

override_module {
  target = module.results
  outputs = {
    bucket                 = "lens-results-123456789012-us-east-1"
    bucket_arn             = "arn:aws:s3:::lens-results-123456789012-us-east-1"
    prefix                 = "lens"
    region                 = "us-east-1"
    kms_key_arn            = "arn:aws:kms:us-east-1:123456789012:key/lake"
    glue_database          = "lens"
    glue_tables            = { requests = "requests", chunks = "chunks" }
    athena_workgroup       = "lens"
    athena_output_location = "s3://lens-results-123456789012-us-east-1/athena-results/"
  }
}

override_module {
  target  = module.runner_us_east_1
  outputs = { region_label = "us-east-1", function_name = "lens-runner", function_arn = "arn:aws:lambda:us-east-1:123456789012:function:lens-runner", dlq_arn = "arn:aws:sqs:us-east-1:123456789012:lens-runner-dlq", dlq_name = "lens-runner-dlq" }
}

override_module {
  target  = module.runner_eu_west_1
  outputs = { region_label = "eu-west-1", function_name = "lens-runner", function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:lens-runner", dlq_arn = "arn:aws:sqs:eu-west-1:123456789012:lens-runner-dlq", dlq_name = "lens-runner-dlq" }
}

override_module {
  target  = module.runner_ap_south_1
  outputs = { region_label = "ap-south-1", function_name = "lens-runner", function_arn = "arn:aws:lambda:ap-south-1:123456789012:function:lens-runner", dlq_arn = "arn:aws:sqs:ap-south-1:123456789012:lens-runner-dlq", dlq_name = "lens-runner-dlq" }
}

override_module {
  target  = module.secrets_us_east_1
  outputs = { region = "us-east-1", secret_arns = {}, secret_names = { OPENAI_API_KEY = "lens/openai" }, kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/s" }
}

override_module {
  target  = module.secrets_eu_west_1
  outputs = { region = "eu-west-1", secret_arns = {}, secret_names = { OPENAI_API_KEY = "lens/openai" }, kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/s" }
}

override_module {
  target  = module.secrets_ap_south_1
  outputs = { region = "ap-south-1", secret_arns = {}, secret_names = { OPENAI_API_KEY = "lens/openai" }, kms_key_arn = "arn:aws:kms:ap-south-1:123456789012:key/s" }
}

override_module {
  target  = module.alerts_us_east_1
  outputs = {}
}

override_module {
  target  = module.alerts_eu_west_1
  outputs = {}
}

override_module {
  target  = module.alerts_ap_south_1
  outputs = {}
}

variables {
  enable_schedules = true # evaluates the yamldecode(file(spec)) path too
}

run "fleet_config_lists_every_runner" {
  command = apply

  assert {
    condition     = toset(keys(output.lens_fleet_config.regions)) == toset(["us-east-1", "eu-west-1", "ap-south-1"])
    error_message = "lens_fleet_config.regions must have one entry per runner region"
  }
  assert {
    condition     = output.lens_fleet_config.regions["ap-south-1"].function == "arn:aws:lambda:ap-south-1:123456789012:function:lens-runner"
    error_message = "each region points at its own function ARN"
  }
  assert {
    condition     = output.lens_fleet_config.bucket == "lens-results-123456789012-us-east-1" && output.lens_fleet_config.workgroup == "lens" && output.lens_fleet_config.glue_database == "lens"
    error_message = "lake settings come from the results module"
  }
  assert {
    condition     = jsondecode(local.schedules["hourly-openai"].spec).targets[0].provider == "openai"
    error_message = "the example schedule spec must load from specs/hourly-openai.yaml"
  }
}
