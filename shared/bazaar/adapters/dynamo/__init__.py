"""DynamoDB single-table adapters (item types and keys: docs/table-design.md)."""
