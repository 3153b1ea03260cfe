# The results lake: one encrypted, private, versioned bucket; Glue tables over it
# (glue.tf) and an Athena workgroup to query it (athena.tf).

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  region      = data.aws_region.current.name
  partition   = data.aws_partition.current.partition
  bucket_name = coalesce(var.bucket_name, "${var.name_prefix}-results-${local.account_id}-${local.region}")
  lake_root   = "s3://${local.bucket_name}/${var.results_prefix}"
}

# One customer managed key for the lake objects and the Athena results. Runners get
# GenerateDataKey/Decrypt on it through their own IAM policies (root statement below).
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
}

resource "aws_kms_key" "results" {
  description             = "${var.name_prefix}: results lake (S3 objects, Athena results)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "results" {
  name          = "alias/${var.name_prefix}-results"
  target_key_id = aws_kms_key.results.key_id
}

resource "aws_s3_bucket" "results" {
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; results are re-measurable and versioned.
  #checkov:skip=CKV2_AWS_62:No consumer of object events: runners register partitions in Glue themselves.
  #checkov:skip=CKV_AWS_18:Access logging is optional (var.access_log_bucket); a logging bucket must exist first.
  bucket        = local.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "results" {
  bucket = aws_s3_bucket.results.id
  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off
  }
}

resource "aws_s3_bucket_public_access_block" "results" {
  bucket                  = aws_s3_bucket.results.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "results" {
  bucket = aws_s3_bucket.results.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "results" {
  bucket = aws_s3_bucket.results.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.results.arn
    }
    bucket_key_enabled = true # one KMS call per object batch, not per object
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "results" {
  bucket = aws_s3_bucket.results.id

  rule {
    id     = "lake-tiering"
    status = "Enabled"
    filter {
      prefix = "${var.results_prefix}/"
    }
    transition {
      days          = var.ia_transition_days
      storage_class = "STANDARD_IA"
    }
    transition {
      days          = var.archive_transition_days
      storage_class = var.archive_storage_class
    }
    dynamic "expiration" {
      for_each = var.expiration_days > 0 ? [var.expiration_days] : []
      content {
        days = expiration.value
      }
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_expiration_days
    }
  }

  rule {
    id     = "athena-results"
    status = "Enabled"
    filter {
      prefix = "athena-results/"
    }
    expiration {
      days = var.athena_results_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {} # whole bucket: parts of failed uploads are billed but never readable
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }

  depends_on = [aws_s3_bucket_versioning.results]
}

resource "aws_s3_bucket_logging" "results" {
  count         = var.access_log_bucket == null ? 0 : 1
  bucket        = aws_s3_bucket.results.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3-access/${local.bucket_name}/"
}

# TLS only: deny every request that did not arrive over HTTPS.
data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.results.arn,
      "${aws_s3_bucket.results.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "results" {
  bucket = aws_s3_bucket.results.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.results]
}
