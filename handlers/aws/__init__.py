"""Adapters to AWS: DynamoDB, S3, SES and EventBridge. ClientErrors stop here."""
