# Least privilege for the runner: write its own objects, register its own partitions,
# read its own secrets, invoke the Bedrock models listed, log to its own group,
# dead-letter to its own queue.

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "runner" {
  name               = "${var.name_prefix}-${local.region}"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

locals {
  glue_arns = concat(
    [
      "arn:${local.partition}:glue:${var.results_region}:${local.account_id}:catalog",
      "arn:${local.partition}:glue:${var.results_region}:${local.account_id}:database/${var.glue_database}",
    ],
    [for t in values(var.glue_tables) : "arn:${local.partition}:glue:${var.results_region}:${local.account_id}:table/${var.glue_database}/${t}"],
  )
  ssm_param_arns = [
    for p in values(var.api_key_params) :
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(p, "/")}"
  ]
}

data "aws_iam_policy_document" "runner" {
  statement {
    sid       = "WriteResultObjects"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${var.results_bucket_arn}/${var.results_prefix}/*"]
  }

  statement {
    sid       = "EncryptResultObjects"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.results_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.results_region}.amazonaws.com"]
    }
  }

  statement {
    sid = "RegisterPartitions"
    actions = [
      "glue:GetDatabase",
      "glue:GetTable",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:BatchGetPartition",
      "glue:CreatePartition",
      "glue:BatchCreatePartition",
      "glue:UpdatePartition",
      "glue:BatchUpdatePartition",
    ]
    resources = local.glue_arns
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.runner.arn}:*"]
  }

  statement {
    sid       = "OwnDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "OwnKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.runner.arn]
  }

  dynamic "statement" {
    for_each = length(var.api_key_secrets) > 0 ? [1] : []
    content {
      sid       = "ReadApiKeySecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = sort(distinct(values(var.api_key_secrets)))
    }
  }

  dynamic "statement" {
    for_each = var.secrets_kms_key_arn == null ? [] : [1]
    content {
      sid       = "DecryptApiKeySecrets"
      actions   = ["kms:Decrypt"]
      resources = [var.secrets_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.api_key_params) > 0 ? [1] : []
    content {
      sid       = "ReadApiKeyParams"
      actions   = ["ssm:GetParameter"]
      resources = sort(distinct(local.ssm_param_arns))
    }
  }

  # Bedrock bursts: invoke exactly the models the operator lists (none by default). The
  # runner also refuses Bedrock targets whose endpoint is not AWS's (policy.check_bedrock).
  dynamic "statement" {
    for_each = length(var.bedrock_model_arns) > 0 ? [1] : []
    content {
      sid       = "InvokeListedBedrockModels"
      actions   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
      resources = sort(distinct(var.bedrock_model_arns))
    }
  }

  dynamic "statement" {
    for_each = var.ssm_kms_key_arn == null ? [] : [1]
    content {
      sid       = "DecryptApiKeyParams"
      actions   = ["kms:Decrypt"]
      resources = [var.ssm_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "runner" {
  name   = "lens-runner"
  role   = aws_iam_role.runner.id
  policy = data.aws_iam_policy_document.runner.json
}
