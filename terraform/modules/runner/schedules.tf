# Scheduled bursts: EventBridge Scheduler invokes this function with a stored spec.
# lens.fleet's schedule helpers create the same event shape for ad-hoc schedules.

resource "aws_scheduler_schedule_group" "runner" {
  count = length(var.schedules) > 0 ? 1 : 0
  name  = var.name_prefix
  tags  = var.tags
}

data "aws_iam_policy_document" "assume_scheduler" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count              = length(var.schedules) > 0 ? 1 : 0
  name               = "${var.name_prefix}-scheduler-${local.region}"
  assume_role_policy = data.aws_iam_policy_document.assume_scheduler.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeThisRunnerOnly"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.runner.arn, "${aws_lambda_function.runner.arn}:*"]
  }

  statement {
    sid       = "DeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "ScheduleAndQueueKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.runner.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count  = length(var.schedules) > 0 ? 1 : 0
  name   = "lens-scheduler"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "burst" {
  for_each = var.schedules

  name                         = "${var.name_prefix}-${each.key}"
  group_name                   = aws_scheduler_schedule_group.runner[0].name
  description                  = each.value.description
  schedule_expression          = each.value.schedule_expression
  schedule_expression_timezone = each.value.timezone
  state                        = each.value.enabled ? "ENABLED" : "DISABLED"
  kms_key_arn                  = aws_kms_key.runner.arn

  flexible_time_window {
    mode = "OFF" # latency series want regular spacing
  }

  target {
    arn      = aws_lambda_function.runner.arn
    role_arn = aws_iam_role.scheduler[0].arn

    # The runner's event shape (lambdas/runner/handler.py RunnerEvent). Scheduler substitutes
    # <aws.scheduler.execution-id> and <aws.scheduler.scheduled-time> per firing, so each
    # firing is its own run, partitioned by the scheduled date (not the moment it finished);
    # Lambda's async retries resend the same payload, so a retry overwrites its own objects.
    input = jsonencode({
      spec   = jsondecode(each.value.spec)
      run_id = "${each.key}-<aws.scheduler.execution-id>"
      dt     = "<aws.scheduler.scheduled-time>"
      region = local.region_label
      shard  = 0
      inline = false # the async response is discarded; rows are read from S3
      source = "schedule:${each.key}"
    })

    retry_policy {
      maximum_event_age_in_seconds = var.max_event_age_s
      maximum_retry_attempts       = 0 # a late burst measures a different moment; dead-letter instead
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }
}
