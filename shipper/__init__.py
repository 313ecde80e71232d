"""logbridge's shipper: structured log records that always fit their BigQuery table."""
