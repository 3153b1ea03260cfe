variable "name_prefix" {
  description = "Prefix of the secret names and the key alias."
  type        = string
  default     = "lens"
}

variable "api_keys" {
  description = <<-EOT
    Provider key env var name -> short secret name, e.g. { OPENAI_API_KEY = "openai" } creates "<name_prefix>/openai".
    Only the entries are created here: values are put outside Terraform (docs/deployment.md), never in state or tfvars.
  EOT
  type        = map(string)

  validation {
    condition     = alltrue([for k in keys(var.api_keys) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "api_keys keys must be environment variable names such as OPENAI_API_KEY."
  }
}

variable "recovery_window_days" {
  description = "Days a deleted secret can be restored (0 deletes at once, e.g. for throwaway stacks)."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
