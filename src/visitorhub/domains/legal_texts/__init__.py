"""Legal texts (versions per type), their texts per locale, and the consents a visitor still owes."""
