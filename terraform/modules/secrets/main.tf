# Secrets Manager entries for provider API keys, in one region. Terraform owns the entry,
# its key and its policy, never the value: no aws_secretsmanager_secret_version here, so
# keys never reach the state file. Put values with `aws secretsmanager put-secret-value`.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

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
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "secrets" {
  description             = "${var.name_prefix}: provider API key secrets (${data.aws_region.current.name})"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${var.name_prefix}-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

resource "aws_secretsmanager_secret" "api_key" {
  #checkov:skip=CKV2_AWS_57:Provider API keys are issued by the provider's console; no rotation Lambda can mint them. Rotate by put-secret-value.
  for_each = var.api_keys

  name                    = "${var.name_prefix}/${each.value}"
  description             = "${each.key} for LLM Latency Lens runners (value set outside Terraform)"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}
