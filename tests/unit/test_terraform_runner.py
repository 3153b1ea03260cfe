"""Contract between terraform/modules/runner and the Lambda handler it deploys."""

from __future__ import annotations

import json
import re
import uuid

import pytest
import yaml
from helpers_terraform import EXAMPLE, MODULES, flat, load_dir, named, one

from lens.fleet.runner.settings import ENV_VARS, Settings, url_allowed
from lens.fleet.runner.wire import RunnerEvent
from lens.spec import PROVIDERS, spec_from_dict

# What a deployed runner cannot work without.
REQUIRED_ENV = (
    "LENS_RESULTS_BUCKET",
    "LENS_GLUE_DATABASE",
    "LENS_ALLOWED_BASE_URLS",
    "LENS_MAX_CONCURRENCY",
    "LENS_MAX_REQUESTS",
    "LENS_API_KEY_SECRETS",
)


@pytest.fixture(scope="module")
def runner() -> dict:
    return load_dir(MODULES / "runner")


def env_problems(env_names: set[str]) -> list[str]:
    unknown = sorted(env_names - set(ENV_VARS))
    missing = sorted(set(REQUIRED_ENV) - env_names)
    return [f"not read by the handler: {n}" for n in unknown] + [f"required but unset: {n}" for n in missing]


def test_lambda_environment_matches_handler_settings(runner: dict) -> None:
    fn = named(runner, "resource")[("aws_lambda_function", "runner")]
    assert one(fn["environment"])["variables"] == "${local.environment}"
    env = flat(runner, "locals")["environment"]
    assert env_problems(set(env)) == []


def test_env_checker_catches_drift() -> None:
    assert env_problems(set(ENV_VARS)) == []
    assert env_problems(set(ENV_VARS) | {"LENS_RESULT_BUCKET"}) == ["not read by the handler: LENS_RESULT_BUCKET"]
    assert env_problems(set(ENV_VARS) - {"LENS_MAX_REQUESTS"}) == ["required but unset: LENS_MAX_REQUESTS"]


def test_environment_values_parse_as_settings(runner: dict) -> None:
    """The value shapes Terraform renders (join/jsonencode/tostring) are what Settings accepts."""
    env = flat(runner, "locals")["environment"]
    assert env["LENS_ALLOWED_BASE_URLS"] == '${join(",", var.allowed_base_urls)}'
    assert env["LENS_API_KEY_SECRETS"] == "${jsonencode(var.api_key_secrets)}"
    assert env["LENS_API_KEY_PARAMS"] == "${jsonencode(var.api_key_params)}"
    rendered = {
        "LENS_RESULTS_BUCKET": "b",
        "LENS_GLUE_DATABASE": "lens",
        "LENS_ALLOWED_BASE_URLS": ",".join(["https://api.openai.com/v1", "https://api.anthropic.com"]),
        "LENS_MAX_CONCURRENCY": "16",
        "LENS_MAX_REQUESTS": "200",
        "LENS_API_KEY_SECRETS": json.dumps({"OPENAI_API_KEY": "arn:aws:secretsmanager:eu-west-1:1:secret:lens/openai-Ab12"}),
        "LENS_API_KEY_PARAMS": json.dumps({}),
        "LENS_DEADLINE_MARGIN_MS": "5000",
        "LENS_REGION_LABEL": "eu-west-1",
    }
    s = Settings.from_env(rendered)
    assert s.allowed_base_urls == ("https://api.openai.com/v1", "https://api.anthropic.com")
    assert s.api_key_secrets["OPENAI_API_KEY"].startswith("arn:aws:secretsmanager:")


def test_function_shape(runner: dict) -> None:
    fn = named(runner, "resource")[("aws_lambda_function", "runner")]
    assert fn["runtime"] == "python3.12"
    assert fn["architectures"] == ["${var.architecture}"]
    assert flat(runner, "variable")["architecture"]["default"] == "arm64"
    assert fn["filename"] == "${var.package_zip}"
    assert fn["source_code_hash"] == "${filebase64sha256(var.package_zip)}"
    assert fn["reserved_concurrent_executions"] == "${var.reserved_concurrency}"
    assert fn["memory_size"] == "${var.memory_mb}" and fn["timeout"] == "${var.timeout_s}"
    assert fn["layers"] == ["${local.layer_arn}"]
    assert "336392948345:layer:${local.layer_name}" in flat(runner, "locals")["layer_arn"]
    assert one(fn["dead_letter_config"])["target_arn"] == "${aws_sqs_queue.dlq.arn}"
    assert fn["handler"] == "${var.handler}"
    assert flat(runner, "variable")["handler"]["default"] == "handler.handler"  # zip root re-export


def test_log_group_dlq_and_schedules_are_encrypted(runner: dict) -> None:
    res = named(runner, "resource")
    assert res[("aws_cloudwatch_log_group", "runner")]["kms_key_id"] == "${aws_kms_key.runner.arn}"
    assert res[("aws_cloudwatch_log_group", "runner")]["retention_in_days"] == "${var.log_retention_days}"
    assert res[("aws_sqs_queue", "dlq")]["kms_master_key_id"] == "${aws_kms_key.runner.arn}"
    assert res[("aws_scheduler_schedule", "burst")]["kms_key_arn"] == "${aws_kms_key.runner.arn}"
    assert res[("aws_kms_key", "runner")]["enable_key_rotation"] is True


def test_schedule_event_is_a_valid_runner_event(runner: dict) -> None:
    """The schedule input's keys are RunnerEvent fields, and the run id it builds passes validation."""
    target = one(named(runner, "resource")[("aws_scheduler_schedule", "burst")]["target"])
    assert one(target["dead_letter_config"])["arn"] == "${aws_sqs_queue.dlq.arn}"
    expr = target["input"]
    assert expr.startswith("${jsonencode({")
    keys = set(re.findall(r"[{,]\s*(\w+)\s*=", expr))
    assert keys <= set(RunnerEvent.model_fields), keys - set(RunnerEvent.model_fields)
    assert {"spec", "run_id", "region", "shard"} <= keys
    assert '"${each.key}-<aws.scheduler.execution-id>"' in expr
    # The longest schedule name the variable allows, with a UUID-sized execution id.
    limit = re.search(r"\{0,(\d+)\}", str(flat(runner, "variable")["schedules"]["validation"]))
    assert limit, "schedule name validation must bound the length"
    name = "a" * (int(limit.group(1)) + 1)
    spec = yaml.safe_load((EXAMPLE / "specs" / "hourly-openai.yaml").read_text())
    event = RunnerEvent.model_validate(
        {"spec": spec, "run_id": f"{name}-{uuid.uuid4()}", "region": "ap-south-1", "shard": 0,
         "inline": False, "source": f"schedule:{name}"}
    )
    assert event.run_id and event.run_id.startswith(name)


def test_example_schedule_spec_is_a_burst_spec_inside_the_allow_list() -> None:
    example = load_dir(EXAMPLE)
    spec = spec_from_dict(yaml.safe_load((EXAMPLE / "specs" / "hourly-openai.yaml").read_text()))
    allowed = tuple(flat(example, "variable")["allowed_base_urls"]["default"])
    for target in spec.targets:
        base = target.base_url or PROVIDERS[target.provider].base_url
        assert base and url_allowed(base, allowed), f"{target.provider} {base} not in the example allow-list"
        assert target.api_key_env in flat(example, "variable")["api_keys"]["default"]


# ---- #17 item 14: every limit a refusal names can be set; Bedrock scoped; item 1: timeouts ----


def test_every_variable_a_refusal_names_can_be_set_from_terraform(runner: dict) -> None:
    """Refusal messages say "set LENS_... (Terraform)": the module must be able to."""
    import inspect

    from lens.fleet.runner import limits, policy

    env = flat(runner, "locals")["environment"]
    named_in_messages = set(re.findall(r"LENS_[A-Z_]+", inspect.getsource(policy) + inspect.getsource(limits)))
    assert {"LENS_API_KEY_URLS", "LENS_MAX_OUTPUT_TOKENS", "LENS_MAX_PROMPT_TOKENS"} <= named_in_messages
    assert named_in_messages - set(env) == set()
    # Everything the handler reads is settable, except creating Glue tables (Terraform owns them).
    assert set(ENV_VARS) - set(env) == {"LENS_GLUE_CREATE_TABLES"}
    assert env["LENS_API_KEY_URLS"] == "${jsonencode(var.api_key_urls)}"
    assert env["LENS_MAX_OUTPUT_TOKENS"] == "${tostring(var.max_output_tokens)}"
    assert env["LENS_MAX_PROMPT_TOKENS"] == "${tostring(var.max_prompt_tokens)}"


def test_variable_defaults_are_the_handlers_defaults(runner: dict) -> None:
    variables = flat(runner, "variable")
    s = Settings()
    for var, field in [("max_output_tokens", "max_output_tokens"), ("max_prompt_tokens", "max_prompt_tokens"),
                       ("max_timeout_s", "max_timeout_s"), ("max_events", "max_events"),
                       ("max_response_bytes", "max_response_bytes"), ("max_chunk_rows", "max_chunk_rows"),
                       ("deadline_margin_ms", "deadline_margin_ms"), ("max_concurrency", "max_concurrency"),
                       ("max_requests", "max_requests")]:
        assert variables[var]["default"] == getattr(s, field), var
    rendered = {"LENS_API_KEY_URLS": json.dumps({"GATEWAY_API_KEY": ["https://llm.internal/v1"]}),
                "LENS_EXTRA_BODY_KEYS": "", "LENS_BEDROCK_ENDPOINT_URLS": ""}  # jsonencode / join of empty lists
    parsed = Settings.from_env(rendered)
    assert parsed.api_key_urls == {"GATEWAY_API_KEY": ("https://llm.internal/v1",)}
    assert parsed.extra_body_keys == () and parsed.bedrock_endpoint_urls == ()


def test_default_lambda_timeout_exceeds_the_longest_request_plus_the_margin(runner: dict) -> None:
    """#17 item 1: with the defaults, a request running its full total timeout still leaves
    the margin for the S3 write before Lambda stops the function."""
    from lens.spec import Timeouts

    variables = flat(runner, "variable")
    timeout_s = variables["timeout_s"]["default"]
    longest = min(Timeouts().total_s, variables["max_timeout_s"]["default"])
    margin_s = variables["deadline_margin_ms"]["default"] / 1000
    assert timeout_s > longest + margin_s, (timeout_s, longest, margin_s)
    # and the module refuses a combination that breaks it
    fn = named(runner, "resource")[("aws_lambda_function", "runner")]
    conditions = [p["condition"] for p in one(fn["lifecycle"])["precondition"]]
    assert "${var.timeout_s * 1000 > var.max_timeout_s * 1000 + var.deadline_margin_ms}" in conditions


def test_bedrock_invoke_is_scoped_to_the_listed_model_arns(runner: dict) -> None:
    from helpers_terraform import policy_statements

    (st,) = [s for s in policy_statements("runner", runner) if s.sid == "InvokeListedBedrockModels"]
    assert st.actions == ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
    assert st.resources_expr == "${sort(distinct(var.bedrock_model_arns))}" and "*" not in st.resources_expr
    doc = named(runner, "data")[("aws_iam_policy_document", "runner")]
    dyn = [d["statement"] for d in doc["dynamic"] if "bedrock_model_arns" in str(d)]
    assert dyn and dyn[0]["for_each"] == "${length(var.bedrock_model_arns) > 0 ? [1] : []}"  # empty: no Bedrock
    validation = str(flat(runner, "variable")["bedrock_model_arns"]["validation"])
    assert "foundation-model" in validation
