"""The capacity line: SQS messages StartBuild refused for capacity wait behind the oldest."""

from __future__ import annotations

from dispatcher.ddbvalues import number, text
from dispatcher.scancache.table import TTL_ATTRIBUTE, Table


class Line(Table):
    """One item per scan project holding its line of messages waiting for a free build slot."""

    def line_end(self, project: str, now: float) -> float | None:
        """Epoch seconds when the generation heading `project`'s line ends; None: no line."""
        item = self._get(_line_key(project))
        if number(item, TTL_ATTRIBUTE) < now or text(item, "line_end") is None:
            return None
        return number(item, "line_end") / 1000

    def wait_in_line(
        self, project: str, sent_at: float, now: float, *, slack: float, seconds: float
    ) -> None:
        """A message sent at `sent_at` was refused for capacity: it heads the line when it is
        older than the head (or the line lapsed), else it keeps its generation's line alive."""
        key, sent = _line_key(project), int(sent_at * 1000)
        values = {":s": {"N": str(sent)}, ":until": {"N": str(int(now + seconds))}}
        head = {":e": {"N": str(sent + int(slack * 1000))}, ":now": {"N": str(int(now))}}
        lapsed = "attribute_not_exists(#pk) OR #exp < :now OR #old > :s"
        done, refused = self._update(
            key, "SET #old = :s, #end = :e, #exp = :until", lapsed, {**values, **head}
        )
        line = {} if done else refused.get("Item", {})
        # An older generation heads a live line: renew it if ours, once half its time is gone.
        if number(line, "line_end") >= sent and number(line, TTL_ATTRIBUTE) < now + seconds / 2:
            self._update(key, "SET #exp = :until", "#end >= :s", values)


def _line_key(project: str) -> str:
    return f"line#{project}"
