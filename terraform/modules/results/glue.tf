# Glue tables over the lake. Columns come from lake_schema.tf.json, generated from
# lens/store/lake_schema.py (scripts/gen_tf_columns.py); a unit test keeps them in sync.

locals {
  # Projection parameters are always declared and switched by projection.enabled, so the
  # same table definition serves both modes (see var.partition_projection).
  projection_parameters = {
    "projection.enabled"          = tostring(var.partition_projection)
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.projection_start_date},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "projection.region.type"      = "enum"
    "projection.region.values"    = join(",", var.regions)
    "projection.run_id.type"      = "injected"
  }
}

resource "aws_glue_catalog_database" "lens" {
  name        = var.glue_database
  description = "LLM Latency Lens results lake (${local.lake_root})"
}

resource "aws_glue_catalog_table" "lake" {
  for_each = local.lake_tables

  name          = each.key
  database_name = aws_glue_catalog_database.lens.name
  table_type    = "EXTERNAL_TABLE"
  description   = "lens ${each.key} rows, one Parquet object per run/region/shard"

  parameters = merge(local.projection_parameters, {
    "classification"              = "parquet"
    "EXTERNAL"                    = "TRUE"
    "parquet.compression"         = "SNAPPY"
    "partition_filtering.enabled" = "true"
    "storage.location.template"   = "${local.lake_root}/${each.key}/dt=$${dt}/region=$${region}/run_id=$${run_id}/"
  })

  storage_descriptor {
    location      = "${local.lake_root}/${each.key}/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    dynamic "columns" {
      for_each = each.value.columns
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }

  dynamic "partition_keys" {
    for_each = local.lake_partition_keys
    content {
      name = partition_keys.value.name
      type = partition_keys.value.type
    }
  }
}

# Registered partitions are pruned through this index (dt ranges, one region) without
# listing every run's partition.
resource "aws_glue_partition_index" "lake" {
  for_each = aws_glue_catalog_table.lake

  database_name = aws_glue_catalog_database.lens.name
  table_name    = each.value.name

  partition_index {
    index_name = "dt_region"
    keys       = ["dt", "region"]
  }
}
