"""IAM in terraform/modules: no "*" action or resource where a narrower one exists.

Allowed, and only there: a KMS key policy's resource "*" (in a key policy it names the key
itself) and the key policy's root statement ``kms:*`` (AWS's default statement that hands
key control to IAM policies). Deny statements may be broad (TLS-only bucket policy).
"""

from __future__ import annotations

import re

import pytest
from helpers_terraform import (
    MODULES,
    Statement,
    flat,
    key_policy_documents,
    load_dir,
    named,
    policy_statements,
)

MODULE_NAMES = ("runner", "results", "secrets", "budget")
# A "*" may only end a resource that is already narrowed: objects under a prefix
# (".../prefix/*"), streams of one log group or versions of one function ("<arn>:*").
NARROW_SUFFIX = re.compile(r"^.*\$\{[^}]+\}(/\$\{[^}]+\})*[/:]\*$")


def _resolve(expr: str, locals_: dict[str, object]) -> str:
    """Replace ``${local.x}`` by the local's written value, so a wildcard there is seen too."""
    m = re.fullmatch(r"\$\{local\.(\w+)\}", expr)
    return str(locals_.get(m.group(1), expr)) if m else expr


def violations(statements: list[Statement], key_docs: set[str], locals_: dict[str, object]) -> list[str]:
    """Human-readable problems with ``statements``; empty when least privilege holds."""
    problems: list[str] = []
    for st in statements:
        if st.effect == "Deny":
            continue
        in_key_policy = st.document in key_docs
        root_admin = in_key_policy and st.sid == "EnableIamPolicies" and all(
            kind == "AWS" and all(i.endswith(":root") for i in ids) for kind, ids in st.principals
        )
        for action in st.actions:
            if "*" in action and not (root_admin and action == "kms:*"):
                problems.append(f"{st.where} {st.sid or '<no sid>'}: wildcard action {action!r}")
        if not st.actions:
            problems.append(f"{st.where} {st.sid or '<no sid>'}: no actions listed")
        for res in st.resources:
            if res == "*" and in_key_policy:
                continue
            if "*" in res and not NARROW_SUFFIX.match(res):
                problems.append(f"{st.where} {st.sid or '<no sid>'}: wildcard resource {res!r}")
        if st.resources_expr is not None and "*" in _resolve(st.resources_expr, locals_):
            problems.append(f"{st.where} {st.sid or '<no sid>'}: wildcard in resources {st.resources_expr}")
        if not st.resources and st.resources_expr is None and st.actions != ("sts:AssumeRole",):
            problems.append(f"{st.where} {st.sid or '<no sid>'}: no resources listed")
        for _kind, ids in st.principals:
            if "*" in ids:
                problems.append(f"{st.where} {st.sid or '<no sid>'}: Allow to principal '*'")
    return problems


@pytest.mark.parametrize("module", MODULE_NAMES)
def test_module_iam_is_least_privilege(module: str) -> None:
    doc = load_dir(MODULES / module)
    statements = list(policy_statements(module, doc))
    assert statements, f"{module}: no policy documents found (parser broke?)"
    assert violations(statements, key_policy_documents(doc), flat(doc, "locals")) == []


def test_checker_flags_wildcards() -> None:
    """The checker itself: each kind of over-broad statement is reported."""
    def st(**kw: object) -> Statement:
        base = dict(where="m: data.x", document="runner", sid="S", effect="Allow", actions=("s3:PutObject",),
                    resources=("${var.bucket_arn}/${var.prefix}/*",), resources_expr=None, principals=(),
                    conditions=())
        base.update(kw)
        return Statement(**base)  # type: ignore[arg-type]

    assert violations([st()], set(), {}) == []
    assert violations([st(actions=("s3:*",))], set(), {})
    assert violations([st(actions=("s3:Put*",))], set(), {})
    assert violations([st(resources=("*",))], set(), {})
    assert violations([st(resources=("arn:aws:s3:::*",))], set(), {})
    assert violations([st(resources=(), resources_expr="${local.arns}")], set(), {"arns": '["arn:aws:glue:*"]'})
    # the same "*" resource is fine in a key policy, and kms:* only for the root statement
    assert violations([st(document="key", resources=("*",), actions=("kms:Decrypt",))], {"key"}, {}) == []
    assert violations([st(document="key", resources=("*",), actions=("kms:*",))], {"key"}, {})
    root = (("AWS", ("arn:aws:iam::1:root",)),)
    assert violations([st(document="key", sid="EnableIamPolicies", resources=("*",), actions=("kms:*",),
                          principals=root)], {"key"}, {}) == []
    assert violations([st(effect="Deny", actions=("s3:*",), resources=("*",))], set(), {}) == []


def test_runner_permissions_are_scoped_to_its_own_resources() -> None:
    doc = load_dir(MODULES / "runner")
    by_sid = {s.sid: s for s in policy_statements("runner", doc) if s.document == "runner"}
    assert by_sid["WriteResultObjects"].actions == ("s3:PutObject", "s3:AbortMultipartUpload")
    assert by_sid["WriteResultObjects"].resources == ("${var.results_bucket_arn}/${var.results_prefix}/*",)
    assert by_sid["OwnLogGroup"].resources == ("${aws_cloudwatch_log_group.runner.arn}:*",)
    assert by_sid["ReadApiKeySecrets"].actions == ("secretsmanager:GetSecretValue",)
    assert "var.api_key_secrets" in str(by_sid["ReadApiKeySecrets"].resources_expr)
    assert "kms:ViaService" in by_sid["DecryptApiKeySecrets"].conditions
    glue = by_sid["RegisterPartitions"]
    partition_writes = {"glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions",
                        "glue:BatchGetPartition", "glue:CreatePartition", "glue:BatchCreatePartition",
                        "glue:UpdatePartition", "glue:BatchUpdatePartition"}
    assert set(glue.actions) <= partition_writes, "the runner must not change tables or delete anything"
    assert "glue:BatchCreatePartition" in glue.actions
    glue_arns = str(flat(doc, "locals")["glue_arns"])
    for part in (":catalog", ":database/${var.glue_database}", ":table/${var.glue_database}/${t}"):
        assert part in glue_arns
    sched = {s.sid: s for s in policy_statements("runner", doc) if s.document == "scheduler"}
    assert sched["InvokeThisRunnerOnly"].actions == ("lambda:InvokeFunction",)
    assert set(sched["InvokeThisRunnerOnly"].resources) == {
        "${aws_lambda_function.runner.arn}", "${aws_lambda_function.runner.arn}:*"}


def test_roles_are_assumable_only_by_their_service_in_this_account() -> None:
    doc = load_dir(MODULES / "runner")
    roles = {name: body for (rtype, name), body in named(doc, "resource").items() if rtype == "aws_iam_role"}
    assert set(roles) == {"runner", "scheduler"}
    assumes = {s.document: s for s in policy_statements("runner", doc) if s.actions == ("sts:AssumeRole",)}
    assert assumes["assume_lambda"].principals == (("Service", ("lambda.amazonaws.com",)),)
    assert assumes["assume_scheduler"].principals == (("Service", ("scheduler.amazonaws.com",)),)
    for st in assumes.values():
        assert "aws:SourceAccount" in st.conditions, st.where
