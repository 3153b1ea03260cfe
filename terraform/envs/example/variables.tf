variable "package_zip" {
  description = "Runner deployment zip from `make package` (path relative to this directory)."
  type        = string
  default     = "../../../lambdas/runner/dist/runner-arm64.zip"
}

variable "bucket_name" {
  description = "Results bucket name; null derives a unique one from the account id."
  type        = string
  default     = null
}

variable "allowed_base_urls" {
  description = "Base URLs the runners may call (SSRF allow-list)."
  type        = list(string)
  default = [
    "https://api.openai.com/v1",
    "https://api.anthropic.com",
    "https://generativelanguage.googleapis.com",
  ]
}

variable "api_key_urls" {
  description = "Key env var -> URL prefixes that key may be sent to besides its provider's API (e.g. a gateway)."
  type        = map(list(string))
  default     = {}
}

variable "max_output_tokens" {
  description = "Largest max_tokens a runner event may ask for."
  type        = number
  default     = 8192
}

variable "max_prompt_tokens" {
  description = "Largest prompt (tokens) a runner event may send."
  type        = number
  default     = 32768
}

variable "bedrock_model_arns" {
  description = "Bedrock foundation-model ARNs the runners may invoke (empty: no Bedrock)."
  type        = list(string)
  default     = []
}

variable "api_keys" {
  description = "Provider key env var -> secret short name, created in every runner region."
  type        = map(string)
  default = {
    OPENAI_API_KEY    = "openai"
    ANTHROPIC_API_KEY = "anthropic"
    GEMINI_API_KEY    = "gemini"
  }
}

variable "monthly_budget_usd" {
  description = "Monthly AWS cost budget for the account (alerts at 50/80/100%)."
  type        = number
  default     = 50
}

variable "alert_emails" {
  description = "Who receives budget and runner alarms (confirm the SNS subscription emails)."
  type        = list(string)
  default     = []
}

variable "enable_schedules" {
  description = "Create the example hourly schedule in every region (it calls a paid API: off by default)."
  type        = bool
  default     = false
}
