"""airtable-mirror shared package: the Airtable client, the DynamoDB repository and the sync engine."""
