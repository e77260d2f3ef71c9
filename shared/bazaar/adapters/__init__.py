"""Implementations of the domain ports on AWS services (DynamoDB, SNS, Valkey, Secrets Manager)."""
