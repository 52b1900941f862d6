"""The capacity line: which generation of SQS messages gets a scan project's next free build slot.

One item per scan project in the scan-cache table, partition key `line#<project>`, beside the
image items `ScanCacheTable` owns (it hands this class out: `ScanCacheTable.capacity_line()`):
  line_oldest  epoch ms (SentTimestamp) of the oldest message StartBuild refused for capacity
  line_end     line_oldest + the caller's slack: messages sent later wait behind that generation
  expires_at   the line counts until then (the table's TTL attribute); each refusal of a message
               of its generation renews it, so a generation whose builds all started lets go
"""

from __future__ import annotations

from typing import Any

from dispatcher.ddbvalues import number, text
from dispatcher.errors import CacheError, aws_error_code

_NAMES = {"#pk": "pk", "#exp": "expires_at", "#old": "line_oldest", "#end": "line_end"}
_HEAD = "SET #old = :s, #end = :e, #exp = :until"
_LAPSED = "attribute_not_exists(#pk) OR #exp < :now OR #old > :s"


def line_key(project: str) -> str:
    """The item key of a project's line."""
    return f"line#{project}"


class CapacityLine:
    """The capacity lines in the scan-cache table; every error is `CacheError`."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def end(self, project: str, now: float) -> float | None:
        """Epoch seconds when the generation heading `project`'s line ends; None: no line."""
        try:
            response = self._client.get_item(
                TableName=self._table, Key=self._key(project), ConsistentRead=True
            )
        except Exception as exc:  # botocore errors, wrapped once at this seam
            raise CacheError(f"cannot read the capacity line: {aws_error_code(exc)}") from exc
        item = response.get("Item") or {}
        if number(item, "expires_at") < now or text(item, "line_end") is None:
            return None
        return number(item, "line_end") / 1000

    def join(
        self, project: str, sent_at: float, now: float, *, slack: float, seconds: float
    ) -> None:
        """A message sent at `sent_at` was refused for capacity: it heads the line when it is
        older than the head (or the line lapsed), else it keeps its generation's line alive."""
        sent = int(sent_at * 1000)
        values = {":s": {"N": str(sent)}, ":until": {"N": str(int(now + seconds))}}
        head = {":e": {"N": str(sent + int(slack * 1000))}, ":now": {"N": str(int(now))}}
        line = self._update(project, _HEAD, _LAPSED, {**values, **head})
        # An older generation heads a live line: renew it if ours, once half its time is gone.
        if number(line, "line_end") >= sent and number(line, "expires_at") < now + seconds / 2:
            self._update(project, "SET #exp = :until", "#end >= :s", values)

    def _update(
        self, project: str, expression: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        """One conditional UpdateItem; the item as it was when the condition failed, else {}."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(project),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    k: v for k, v in _NAMES.items() if k in expression + condition
                },
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as exc:  # botocore errors, wrapped once at this seam
            if aws_error_code(exc) != "ConditionalCheckFailedException":
                raise CacheError(f"cannot write the capacity line: {aws_error_code(exc)}") from exc
            response = getattr(exc, "response", None)
            item = response.get("Item") if isinstance(response, dict) else None
            return item if isinstance(item, dict) else {}
        return {}

    @staticmethod
    def _key(project: str) -> dict[str, Any]:
        return {"pk": {"S": line_key(project)}}
