"""Pure domain code for the Lambda handlers: models, statuses, rendering rules. No boto3 here."""
