#!/usr/bin/env python3
"""Import Apache Kafka's message schemas into protocol/schema/, the codec generator's input.

Usage: import_schemas.py REFERENCE_DIR OUT_DIR
  REFERENCE_DIR  the kafka-protocol reference: messages/*.json (JSON with // comments),
                 messages/internal-topics/*.json and README.md (error-code table, section 9)
  OUT_DIR        protocol/schema

What is imported:
  - every file in messages/: all request/response pairs, RequestHeader, ResponseHeader and
    the standalone `data` structures (ConsumerProtocolSubscription/Assignment,
    LeaderChangeMessage, SnapshotHeader/FooterRecord, KRaftVersionRecord, VotersRecord,
    DefaultPrincipalData);
  - from messages/internal-topics/ only the classic-protocol records that the group and
    transaction coordinators write (OffsetCommitKey/Value, GroupMetadataKey/Value,
    TransactionLogKey/Value);
  - the error-code table (code, name, retriable) from README.md section 9.

Output format (the generator's input; committed so builds do not need the reference):
  <Name>.json   one message per file, strict JSON (no comments), with the prose removed
                (`about` keys and comments). Everything with a wire or API meaning is kept
                verbatim: apiKey, type, name, validVersions, flexibleVersions,
                deprecatedVersions, latestVersionUnstable, listeners, fields, commonStructs;
                per field: name, type, versions, nullableVersions, tag, taggedVersions,
                default, ignorable, flexibleVersions, mapKey, entityType, zeroCopy, fields.
                Two normalisations: `tag` is always a JSON integer and `default` is always a
                JSON string ("-1", "false", "null"), as upstream writes most of them.
                Layout: top-level keys one per line; each field on one line, its nested
                `fields` indented below it, so a diff shows one field per line.
  errors.tsv    `code<TAB>NAME<TAB>retriable` (retriable is 1 or 0), one error per line,
                ascending code, preceded by one `#` comment line.
The importer is deterministic: re-running it on the same reference gives identical files.
"""
import glob
import json
import os
import re
import sys

CLASSIC_INTERNAL = {
    "OffsetCommitKey", "OffsetCommitValue", "GroupMetadataKey", "GroupMetadataValue",
    "TransactionLogKey", "TransactionLogValue",
}
TOP_KEYS = ["apiKey", "type", "name", "validVersions", "flexibleVersions",
            "deprecatedVersions", "latestVersionUnstable", "listeners"]
FIELD_KEYS = ["name", "type", "versions", "nullableVersions", "tag", "taggedVersions",
              "default", "ignorable", "flexibleVersions", "mapKey", "entityType", "zeroCopy"]
DROPPED_KEYS = {"about"}


def strip_comments(text):
    """Remove // comments that are outside JSON strings."""
    out = []
    i, n, in_str = 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def norm_default(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def clean_field(f, where):
    for k in f:
        if k not in FIELD_KEYS and k not in DROPPED_KEYS and k != "fields":
            raise SystemExit("%s: unknown field key %r" % (where, k))
    out = {}
    for k in FIELD_KEYS:
        if k not in f:
            continue
        v = f[k]
        if k == "tag":
            v = int(v)
        elif k == "default":
            v = norm_default(v)
        out[k] = v
    if "fields" in f:
        out["fields"] = [clean_field(x, where + "." + f["name"]) for x in f["fields"]]
    return out


def clean_message(d, where):
    for k in d:
        if k not in TOP_KEYS and k not in ("fields", "commonStructs"):
            raise SystemExit("%s: unknown top-level key %r" % (where, k))
    out = {k: d[k] for k in TOP_KEYS if k in d}
    out["fields"] = [clean_field(f, where) for f in d["fields"]]
    if "commonStructs" in d:
        out["commonStructs"] = []
        for cs in d["commonStructs"]:
            s = {"name": cs["name"], "versions": cs["versions"]}
            s["fields"] = [clean_field(f, where + "." + cs["name"]) for f in cs["fields"]]
            out["commonStructs"].append(s)
    return out


def dump_fields(fields, indent):
    lines = []
    for i, f in enumerate(fields):
        head = {k: v for k, v in f.items() if k != "fields"}
        text = json.dumps(head, separators=(", ", ": "))
        comma = "," if i + 1 < len(fields) else ""
        if "fields" in f:
            lines.append(" " * indent + text[:-1] + ', "fields": [')
            lines.extend(dump_fields(f["fields"], indent + 2))
            lines.append(" " * indent + "]}" + comma)
        else:
            lines.append(" " * indent + text + comma)
    return lines


def dump_message(m):
    lines = ["{"]
    for k in TOP_KEYS:
        if k in m:
            lines.append("  %s: %s," % (json.dumps(k), json.dumps(m[k])))
    if "commonStructs" in m:
        lines.append('  "commonStructs": [')
        for i, cs in enumerate(m["commonStructs"]):
            lines.append('    {"name": %s, "versions": %s, "fields": [' %
                         (json.dumps(cs["name"]), json.dumps(cs["versions"])))
            lines.extend(dump_fields(cs["fields"], 6))
            lines.append("    ]}" + ("," if i + 1 < len(m["commonStructs"]) else ""))
        lines.append("  ],")
    lines.append('  "fields": [')
    lines.extend(dump_fields(m["fields"], 4))
    lines.append("  ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    if json.loads(text) != m:
        raise SystemExit("internal error: layout changed the content of " + m["name"])
    return text


def import_errors(readme):
    text = open(readme, encoding="utf-8").read()
    sec = re.search(r"^## 9\..*?$(.*?)^## ", text + "\n## ", re.S | re.M)
    if not sec:
        raise SystemExit("README.md: section 9 not found")
    rows = re.findall(r"^\|\s*(-?\d+)\s*\|\s*([A-Z0-9_]+)\s*\|\s*(yes)?\s*\|\s*$",
                      sec.group(1), re.M)
    if len(rows) < 100:
        raise SystemExit("README.md: error table has only %d rows" % len(rows))
    lines = ["# code\tname\tretriable (imported from the reference README section 9)"]
    seen = set()
    for code, name, retriable in rows:
        if int(code) in seen:
            raise SystemExit("README.md: duplicate error code " + code)
        seen.add(int(code))
        lines.append("%d\t%s\t%d" % (int(code), name, 1 if retriable else 0))
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    ref, out_dir = sys.argv[1], sys.argv[2]
    paths = sorted(glob.glob(os.path.join(ref, "messages", "*.json")))
    for p in sorted(glob.glob(os.path.join(ref, "messages", "internal-topics", "*.json"))):
        if os.path.basename(p)[:-5] in CLASSIC_INTERNAL:
            paths.append(p)
    os.makedirs(out_dir, exist_ok=True)
    written = set()
    for p in paths:
        with open(p, encoding="utf-8") as fp:
            d = json.loads(strip_comments(fp.read()))
        m = clean_message(d, os.path.basename(p))
        if m["name"] + ".json" != os.path.basename(p):
            raise SystemExit("%s: name %s does not match the file" % (p, m["name"]))
        name = m["name"] + ".json"
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as fp:
            fp.write(dump_message(m))
        written.add(name)
    with open(os.path.join(out_dir, "errors.tsv"), "w", encoding="utf-8") as fp:
        fp.write(import_errors(os.path.join(ref, "README.md")))
    written.add("errors.tsv")
    for stale in os.listdir(out_dir):
        if stale not in written and (stale.endswith(".json") or stale.endswith(".tsv")):
            os.remove(os.path.join(out_dir, stale))
    print("imported %d schemas and the error table into %s" % (len(written) - 1, out_dir))


if __name__ == "__main__":
    main()
