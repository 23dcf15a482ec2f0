"""Verification codes and the delivery of messages (mail and SMS)."""
