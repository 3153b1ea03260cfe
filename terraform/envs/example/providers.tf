# One provider per region. The default provider is the results region (bucket, Glue,
# Athena, budget); each alias below hosts one runner. Adding a region = one provider
# alias + one secrets/runner/alerts module block in main.tf (tests check they match).

locals {
  default_tags = {
    project    = "llm-latency-lens"
    managed_by = "terraform"
  }
}

provider "aws" {
  region = "us-east-1"
  default_tags {
    tags = local.default_tags
  }
}

provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
  default_tags {
    tags = local.default_tags
  }
}

provider "aws" {
  alias  = "eu_west_1"
  region = "eu-west-1"
  default_tags {
    tags = local.default_tags
  }
}

provider "aws" {
  alias  = "ap_south_1"
  region = "ap-south-1"
  default_tags {
    tags = local.default_tags
  }
}
