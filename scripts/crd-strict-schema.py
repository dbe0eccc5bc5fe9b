#!/usr/bin/env python3
"""Print a CRD version's openAPIV3Schema as a strict JSON Schema.

    crd-strict-schema.py CRD.yaml VERSION > schema.json

Strict as `kubectl apply --validate=strict` is: `additionalProperties: false`
on every object that lists its properties and does not say
`x-kubernetes-preserve-unknown-fields`. Kubernetes' `x-kubernetes-*` keys are
dropped; `apiVersion` and `kind` are pinned to the CRD's group/version and
kind, and `metadata` checked as an object with a name. The CRD itself is not
kept: it is read where it is (a test's input), never committed.
"""
import json
import sys

import yaml


def strict(node):
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out.setdefault("additionalProperties", False)
    # OpenAPI's nullable has no JSON Schema keyword of its own.
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def main():
    path, version = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        crd = next(d for d in yaml.safe_load_all(f) if d and d.get("kind") == "CustomResourceDefinition")
    spec = crd["spec"]
    schema = next(v for v in spec["versions"] if v["name"] == version)["schema"]["openAPIV3Schema"]
    schema = strict(schema)
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"const": f"{spec['group']}/{version}"}
    props["kind"] = {"const": spec["names"]["kind"]}
    props["metadata"] = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "additionalProperties": False,
    }
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata", "spec"})
    schema["additionalProperties"] = False
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    json.dump(schema, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
