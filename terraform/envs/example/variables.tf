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
