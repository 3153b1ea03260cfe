"""terraform/modules/results: the bucket is encrypted and private; Glue matches lake_schema."""

from __future__ import annotations

import importlib.util
import re

import pytest
from helpers_terraform import (
    MODULES,
    ROOT,
    flat,
    lake_schema_json,
    load_dir,
    named,
    one,
    policy_statements,
)

from lens.store import lake_schema


@pytest.fixture(scope="module")
def results() -> dict:
    return load_dir(MODULES / "results")


def _gen_module():  # scripts/ is not a package
    spec = importlib.util.spec_from_file_location("gen_tf_columns", ROOT / "scripts" / "gen_tf_columns.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bucket_is_encrypted_with_a_rotating_cmk(results: dict) -> None:
    res = named(results, "resource")
    sse = res[("aws_s3_bucket_server_side_encryption_configuration", "results")]
    assert sse["bucket"] == "${aws_s3_bucket.results.id}"
    default = one(one(sse["rule"])["apply_server_side_encryption_by_default"])
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"] == "${aws_kms_key.results.arn}"
    assert res[("aws_kms_key", "results")]["enable_key_rotation"] is True
    wg = one(res[("aws_athena_workgroup", "lens")]["configuration"])
    enc = one(one(wg["result_configuration"])["encryption_configuration"])
    assert enc == {"encryption_option": "SSE_KMS", "kms_key_arn": "${aws_kms_key.results.arn}"}
    assert wg["enforce_workgroup_configuration"] is True
    assert wg["bytes_scanned_cutoff_per_query"] == "${var.athena_bytes_scanned_cutoff}"


def test_bucket_is_private_versioned_and_tls_only(results: dict) -> None:
    res = named(results, "resource")
    pab = res[("aws_s3_bucket_public_access_block", "results")]
    assert pab["bucket"] == "${aws_s3_bucket.results.id}"
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert pab[flag] is True, flag
    own = one(res[("aws_s3_bucket_ownership_controls", "results")]["rule"])
    assert own["object_ownership"] == "BucketOwnerEnforced"
    assert one(res[("aws_s3_bucket_versioning", "results")]["versioning_configuration"])["status"] == "Enabled"
    assert not [t for t, _ in res if t in ("aws_s3_bucket_acl", "aws_s3_bucket_website_configuration")]
    assert res[("aws_s3_bucket_policy", "results")]["policy"] == "${data.aws_iam_policy_document.bucket.json}"
    deny = [s for s in policy_statements("results", results) if s.document == "bucket"]
    assert len(deny) == 1 and deny[0].effect == "Deny" and deny[0].actions == ("s3:*",)
    assert set(deny[0].resources) == {"${aws_s3_bucket.results.arn}", "${aws_s3_bucket.results.arn}/*"}
    assert deny[0].conditions == ("aws:SecureTransport",)
    bucket_policy = named(results, "data")[("aws_iam_policy_document", "bucket")]
    assert one(bucket_policy["statement"])["condition"][0]["values"] == ["false"]


def test_lifecycle_tiers_and_expires(results: dict) -> None:
    lc = named(results, "resource")[("aws_s3_bucket_lifecycle_configuration", "results")]
    rules = {r["id"]: r for r in lc["rule"]}
    lake = rules["lake-tiering"]
    assert one(lake["filter"])["prefix"] == "${var.results_prefix}/"
    classes = [t["storage_class"] for t in lake["transition"]]
    assert classes == ["STANDARD_IA", "${var.archive_storage_class}"]
    assert "expiration" in str(lake.get("dynamic")) and "var.expiration_days" in str(lake.get("dynamic"))
    assert one(lake["noncurrent_version_expiration"])["noncurrent_days"] == "${var.noncurrent_expiration_days}"
    assert "abort_incomplete_multipart_upload" in rules["abort-incomplete-uploads"]
    variables = flat(results, "variable")
    assert variables["ia_transition_days"]["default"] >= 30  # S3 rejects earlier STANDARD_IA transitions
    assert variables["archive_transition_days"]["default"] == 90


def test_generated_columns_file_is_current() -> None:
    gen = _gen_module()
    current = gen.TARGET.read_text(encoding="utf-8")
    assert current == gen.render(), "terraform/modules/results/lake_schema.tf.json is stale: run scripts/gen_tf_columns.py"


def test_staleness_is_detected(tmp_path, monkeypatch) -> None:
    gen = _gen_module()
    stale = tmp_path / "lake_schema.tf.json"
    stale.write_text(gen.render().replace('"double"', '"float"', 1), encoding="utf-8")
    monkeypatch.setattr(gen, "TARGET", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0 and gen.main(["--check"]) == 0


def test_glue_columns_and_partitions_match_lake_schema(results: dict) -> None:
    local = lake_schema_json()["locals"]
    assert set(local["lake_tables"]) == set(lake_schema.TABLES)
    for table in lake_schema.TABLES:
        cols = {c["name"]: c["type"] for c in local["lake_tables"][table]["columns"]}
        assert list(cols.items()) == list(lake_schema.glue_columns(table).items()), table
    assert {p["name"]: p["type"] for p in local["lake_partition_keys"]} == lake_schema.partition_types()
    # The table takes its columns only from those locals: no hand-written column can drift.
    table = named(results, "resource")[("aws_glue_catalog_table", "lake")]
    assert table["for_each"] == "${local.lake_tables}"
    assert "columns" not in one(table["storage_descriptor"])
    dyn = one(table["storage_descriptor"])["dynamic"]
    assert [d["columns"]["for_each"] for d in dyn] == ["${each.value.columns}"]
    assert "partition_keys" not in table
    assert [d["partition_keys"]["for_each"] for d in table["dynamic"]] == ["${local.lake_partition_keys}"]


def test_table_layout_matches_the_runner_keys(results: dict) -> None:
    """Location and projection template follow lake_schema.object_key's path."""
    table = named(results, "resource")[("aws_glue_catalog_table", "lake")]
    assert one(table["storage_descriptor"])["location"] == "${local.lake_root}/${each.key}/"
    assert flat(results, "locals")["lake_root"] == "s3://${local.bucket_name}/${var.results_prefix}"
    key = lake_schema.object_key("P", "T", dt="D", region="R", run_id="I", shard=0)
    m = re.fullmatch(r"P/T/dt=D/region=R/run_id=I/shard-0000\.parquet", key)
    assert m, f"object_key layout changed: {key}; update glue.tf's location template"
    partition_path = "/".join(f"{k}=$${{{k}}}" for k in lake_schema.PARTITION_KEYS)
    assert f"${{local.lake_root}}/${{each.key}}/{partition_path}/" in table["parameters"]


def test_partition_projection_parameters(results: dict) -> None:
    p = flat(results, "locals")["projection_parameters"]
    assert p["projection.enabled"] == "${tostring(var.partition_projection)}"
    assert (p["projection.dt.type"], p["projection.dt.format"]) == ("date", "yyyy-MM-dd")
    assert p["projection.dt.range"] == "${var.projection_start_date},NOW"
    assert p["projection.region.type"] == "enum"
    assert p["projection.region.values"] == '${join(",", var.regions)}'
    assert p["projection.run_id.type"] == "injected"
    projected = {k.split(".")[1] for k in p if k.count(".") >= 2}
    assert projected == set(lake_schema.PARTITION_KEYS), "projection must cover every partition key"
    # registered partitions by default: Athena can then query across runs
    assert flat(results, "variable")["partition_projection"]["default"] is False
