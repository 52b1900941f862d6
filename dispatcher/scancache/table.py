"""The scan-cache table's item layout (attribute names, statuses) and its one DynamoDB seam."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dispatcher.errors import CacheError, aws_error_code

PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expires_at"
STATUS_IN_FLIGHT = "in-flight"
STATUS_PASSED = "passed"
STATUS_FAILED = "failed"
STATUS_ERROR = "error"
COMPLETED_STATUSES = frozenset({STATUS_PASSED, STATUS_FAILED})
_CONDITION_FAILED = "ConditionalCheckFailedException"
_N = {
    "#pk": PARTITION_KEY,
    "#exp": TTL_ATTRIBUTE,
    "#st": "status",
    "#lid": "lease_id",
    "#lease": "lease_expires_at",
    "#done": "completed_at",
    "#upd": "updated_at",
    "#bid": "build_id",
    "#img": "image",
    "#uri": "report_uri",
    "#cnt": "counts",
    "#tier": "compute_tier",
    "#vd": "vuln_data",
    "#rsn": "reason",
    "#old": "line_oldest",
    "#end": "line_end",
}


class Table:
    """The DynamoDB seam every scan-cache operation goes through; every error is `CacheError`."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def _get(self, key: str) -> dict[str, Any]:
        """The item (empty when there is none), read consistently."""
        try:
            response = self._client.get_item(
                TableName=self._table, Key={PARTITION_KEY: {"S": key}}, ConsistentRead=True
            )
        except Exception as exc:  # botocore errors, wrapped once at this seam
            raise CacheError(
                f"cannot read the scan cache {self._table}: {aws_error_code(exc)}"
            ) from exc
        item = response.get("Item")
        return item if isinstance(item, dict) else {}

    def _update(
        self, key: str, expression: str, condition: str, values: dict[str, Any]
    ) -> tuple[bool, dict[str, Any]]:
        """One conditional UpdateItem, answered as `_write` answers (old item on a refusal)."""
        return self._write(
            "UpdateItem",
            key,
            Key={PARTITION_KEY: {"S": key}},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=attribute_names(expression + condition),
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    def _write(self, operation: str, key: str, **request: Any) -> tuple[bool, dict[str, Any]]:
        """One conditional write: (True, AWS's answer), or (False, the refusal's response) when
        its condition failed. Any other error is a `CacheError`: nothing is built unguarded,
        nothing recorded falsely."""
        method: Callable[..., Any] = {
            "PutItem": self._client.put_item,
            "UpdateItem": self._client.update_item,
            "DeleteItem": self._client.delete_item,
        }[operation]
        try:
            answer = method(TableName=self._table, **request)
        except Exception as exc:  # botocore errors, wrapped once at this seam
            if aws_error_code(exc) != _CONDITION_FAILED:
                raise CacheError(
                    f"dynamodb:{operation} on {key} failed: {aws_error_code(exc)}"
                ) from exc
            response = getattr(exc, "response", None)
            return False, response if isinstance(response, dict) else {}
        return True, answer if isinstance(answer, dict) else {}


def attribute_names(expression: str) -> dict[str, str]:
    """The attribute-name placeholders an expression uses."""
    return {k: v for k, v in _N.items() if k in expression}
