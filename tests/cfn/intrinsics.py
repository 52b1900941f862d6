"""A small CloudFormation evaluator: enough intrinsics to compute what a stack passes on.

Given parameter values, `Stack.render` turns a property value (`Ref`, `Fn::Sub`, `Fn::If`,
`Fn::GetAtt`, conditions) into the string CloudFormation would set. Resources stand for sample
physical ids of their type. Any function or resource type it does not know raises, so a template
change this evaluator cannot follow fails the test instead of being skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PSEUDO = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
# What `Ref` returns for each resource type the evaluated values use (shaped like real ids).
REF_SAMPLES = {
    "AWS::S3::Bucket": "deployscan-reportbucket-1a2b3c4d5e6f",
    "AWS::SNS::Topic": "arn:aws:sns:us-east-1:123456789012:deployscan-findings",
    "AWS::DynamoDB::Table": "deployscan-ScanCacheTable-1A2B3C4D5E6F",
    "AWS::SQS::Queue": "https://sqs.us-east-1.amazonaws.com/123456789012/deployscan-Queue-1A2B3C",
    "AWS::SecretsManager::Secret": (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:deployscan/qualys-AbC123"
    ),
}
NAMED_REF = frozenset({"AWS::CodeBuild::Project"})
_SUB_VAR = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True)
class Stack:
    """One template with one set of parameter values (each parameter's Default where not given)."""

    template: Mapping[str, Any]
    values: Mapping[str, str]

    def parameter(self, name: str) -> str:
        """The value a parameter takes: the given one, else its Default."""
        if name in self.values:
            return self.values[name]
        spec = self.template["Parameters"][name]
        if "Default" not in spec:
            raise KeyError(f"parameter {name} has no Default: give it a value")
        return str(spec["Default"])

    def ref(self, name: str) -> str:
        """What `Ref` gives for a parameter, pseudo parameter or resource."""
        if name in PSEUDO:
            return self.values.get(name, PSEUDO[name])  # a test may place the stack elsewhere
        if name in self.template["Parameters"]:
            return self.parameter(name)
        kind = self.template["Resources"][name]["Type"]
        if kind in NAMED_REF:  # Ref is the name the template gives it
            return self.render(self.template["Resources"][name]["Properties"]["Name"])
        if kind not in REF_SAMPLES:
            raise NotImplementedError(f"no sample Ref value for {kind} ({name})")
        return REF_SAMPLES[kind]

    def condition(self, name: str) -> bool:
        """Evaluate one named condition."""
        return self._truth(self.template["Conditions"][name])

    def _truth(self, node: Any) -> bool:
        ((fn, arg),) = node.items()
        if fn == "Fn::Equals":
            return self.render(arg[0]) == self.render(arg[1])
        if fn == "Fn::Not":
            return not self._truth(arg[0])
        if fn == "Fn::And":
            return all(self._truth(a) for a in arg)
        if fn == "Fn::Or":
            return any(self._truth(a) for a in arg)
        if fn == "Condition":
            return self.condition(arg)
        raise NotImplementedError(f"condition function {fn}")

    def render(self, node: Any) -> str:
        """The string CloudFormation sets for a property value."""
        if isinstance(node, bool):
            return str(node).lower()
        if isinstance(node, str | int | float):
            return str(node)
        ((fn, arg),) = node.items()
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Fn::If":
            name, yes, no = arg
            return self.render(yes if self.condition(name) else no)
        if fn == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else arg
            return _SUB_VAR.sub(lambda m: self._sub_var(m.group(1), local), text)
        raise NotImplementedError(f"intrinsic function {fn}")

    def _sub_var(self, name: str, local: Mapping[str, Any]) -> str:
        if name in local:
            return self.render(local[name])
        if "." in name:
            raise NotImplementedError(f"Fn::Sub attribute ${{{name}}}")
        return self.ref(name)


def referenced_parameters(template: Mapping[str, Any], node: Any) -> set[str]:
    """Parameters a value depends on: `Ref`s, `Fn::Sub` variables, and those of its conditions."""
    found: set[str] = set()
    params = template["Parameters"]

    def visit(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for fn, arg in value.items():
                if fn == "Ref" and arg in params:
                    found.add(arg)
                elif fn == "Fn::Sub":
                    text = arg if isinstance(arg, str) else arg[0]
                    found.update(v for v in _SUB_VAR.findall(text) if v in params)
                    visit(arg if isinstance(arg, str) else arg[1])
                elif fn == "Fn::If":
                    visit(template["Conditions"][arg[0]])
                    visit(arg[1:])
                elif fn == "Condition":
                    visit(template["Conditions"][arg])
                else:
                    visit(arg)

    visit(node)
    return found
