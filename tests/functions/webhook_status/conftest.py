"""The webhook stack fixture for these tests."""

from tests.functions.webhook_stack import webhook_stack

__all__ = ["webhook_stack"]
