"""Lambda code for sesmailengine. The package sits at the root of the Lambda archive."""
