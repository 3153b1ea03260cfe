locals {
  runners = {
    (module.runner_us_east_1.region_label)  = module.runner_us_east_1
    (module.runner_eu_west_1.region_label)  = module.runner_eu_west_1
    (module.runner_ap_south_1.region_label) = module.runner_ap_south_1
  }
  secrets = {
    (module.secrets_us_east_1.region)  = module.secrets_us_east_1.secret_names
    (module.secrets_eu_west_1.region)  = module.secrets_eu_west_1.secret_names
    (module.secrets_ap_south_1.region) = module.secrets_ap_south_1.secret_names
  }
}

# What `lens run --regions ...` reads (lens/fleet/config.py FleetConfig):
#   terraform output -json lens_fleet_config > ~/.config/lens/fleet.json
output "lens_fleet_config" {
  description = "Fleet config for the lens SDK/CLI (write it to ~/.config/lens/fleet.json or $LENS_FLEET_CONFIG)."
  value = {
    bucket        = module.results.bucket
    prefix        = module.results.prefix
    glue_database = module.results.glue_database
    workgroup     = module.results.athena_workgroup
    athena_output = module.results.athena_output_location
    regions = {
      for label, r in local.runners : label => {
        function = r.function_arn
      }
    }
  }
}

output "secret_names" {
  description = "Region -> env var -> secret name: put each value with `aws secretsmanager put-secret-value`."
  value       = local.secrets
}

output "runner_functions" {
  description = "Region -> function name."
  value       = { for label, r in local.runners : label => r.function_name }
}

output "dead_letter_queues" {
  description = "Region -> DLQ ARN (failed scheduled runs)."
  value       = { for label, r in local.runners : label => r.dlq_arn }
}
