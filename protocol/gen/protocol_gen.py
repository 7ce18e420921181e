#!/usr/bin/env python3
"""protocol_gen.py — generate sluice's Kafka message codecs from protocol/schema/.

Usage: protocol_gen.py SCHEMA_DIR OUT_DIR

Reads SCHEMA_DIR/*.json (one message per file, written by import_schemas.py) and
SCHEMA_DIR/errors.tsv, and writes into OUT_DIR:
  protocol_gen.h       types and prototypes (included by protocol/protocol.h)
  protocol_gen.c       init/decode/encode for every message, the API table, error names
  protocol_gen_test.h  test-only helpers (fill with non-default values, deep equality)
  protocol_gen_test.c  and a table of every message for the unit tests

The generated API is described in protocol/protocol.h ("message codecs"). Per struct S of
message M the .c file has one static function per direction: M_S_init, M_S_decode,
M_S_encode (plus M_S_is_default when S is a tagged field's type). Version conditions are
simplified against the versions in which a struct can occur at all, so a field present in
every such version is read without a test. Errors inside nested decoders stay in the
reader (sticky); the public decode returns sl_reader_err(r) at the end.
"""
import glob
import json
import os
import re
import sys

# schema type -> (C type, wire bytes, reader, writer)
PRIMS = {
    "int8": ("int8_t", 1, "sl_reader_i8", "sl_buf_put_i8"),
    "int16": ("int16_t", 2, "sl_reader_i16", "sl_buf_put_i16"),
    "uint16": ("uint16_t", 2, "sl_reader_u16", "sl_buf_put_u16"),
    "int32": ("int32_t", 4, "sl_reader_i32", "sl_buf_put_i32"),
    "uint32": ("uint32_t", 4, "sl_reader_u32", "sl_buf_put_u32"),
    "int64": ("int64_t", 8, "sl_reader_i64", "sl_buf_put_i64"),
    "float64": ("double", 8, "sl_reader_f64", "sl_buf_put_f64"),
    "bool": ("bool", 1, "sl_reader_bool", "sl_buf_put_u8"),
}
# element type of a primitive array -> suffix of protocol_<suffix>_array and its helpers
PRIM_ARRAYS = {"int8": "int8", "int32": "int32", "int64": "int64", "uuid": "uuid",
               "string": "str"}
INT_RANGES = {"int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1),
              "uint16": (0, 2**16 - 1), "int32": (-2**31, 2**31 - 1),
              "uint32": (0, 2**32 - 1), "int64": (-2**63, 2**63 - 1)}


class GenError(Exception):
    pass


def vset(spec, lo, hi):
    """The versions of [lo, hi] that a version spec ("0+", "1-3", "2", "none") names."""
    spec = spec.strip()
    if spec == "none":
        return frozenset()
    m = re.fullmatch(r"(\d+)\+", spec)
    if m:
        return frozenset(range(max(lo, int(m.group(1))), hi + 1))
    m = re.fullmatch(r"(\d+)-(\d+)", spec)
    if m:
        return frozenset(range(max(lo, int(m.group(1))), min(hi, int(m.group(2))) + 1))
    m = re.fullmatch(r"(\d+)", spec)
    if m:
        v = int(m.group(1))
        return frozenset([v]) if lo <= v <= hi else frozenset()
    raise GenError("bad version spec %r" % spec)


def intervals(versions):
    out = []
    for v in sorted(versions):
        if out and out[-1][1] == v - 1:
            out[-1][1] = v
        else:
            out.append([v, v])
    return out


def vexpr(versions, reach, lo, hi):
    """C condition on `version` that holds exactly for the versions in `reach` (those that
    can occur here) that are also in `versions`. Versions outside reach are don't-cares."""
    if reach <= versions:
        return "true"
    if not (reach & versions):
        return "false"
    full = frozenset(range(lo, hi + 1))
    care = versions | (full - reach)
    parts = []
    for a, b in intervals(care):
        if a == lo and b == hi:
            return "true"
        if a == b:
            parts.append("version == %d" % a)
        elif a == lo:
            parts.append("version <= %d" % b)
        elif b == hi:
            parts.append("version >= %d" % a)
        else:
            parts.append("(version >= %d && version <= %d)" % (a, b))
    return " || ".join(parts) if len(parts) > 1 else parts[0]


def paren(expr):
    if "||" not in expr and (re.fullmatch(r"[\w>=<! ]+", expr) or
                             (expr.startswith("(") and expr.endswith(")"))):
        return expr
    return "(%s)" % expr


C_KEYWORDS = set("""auto break case char const continue default do double else enum extern float
for goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while bool true false""".split())


def wrap_signature(line, limit=100):
    """Break a long function signature or prototype after each parameter, aligned."""
    if len(line) <= limit or "(" not in line:
        return line
    head, rest = line.split("(", 1)
    params = [p.strip() for p in rest.rsplit(")", 1)[0].split(",")]
    tail = rest.rsplit(")", 1)[1]
    pad = " " * (len(head) + 1)
    return head + "(" + (",\n" + pad).join(params) + ")" + tail


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Field:
    def __init__(self, d, msg, owner):
        self.name = d["name"]
        if self.name in C_KEYWORDS or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", self.name):
            raise GenError("%s: field name %r is not a usable C member" % (msg.name, self.name))
        self.spec = d
        self.owner = owner
        lo, hi = msg.lo, msg.hi
        self.versions = vset(d["versions"], lo, hi)
        self.nullable = vset(d.get("nullableVersions", "none"), lo, hi)
        self.tagged = vset(d.get("taggedVersions", "none"), lo, hi)
        self.tag = d.get("tag")
        if (self.tag is None) != (not self.tagged and "taggedVersions" not in d):
            raise GenError("%s.%s: tag and taggedVersions go together" % (msg.name, self.name))
        if self.tagged - msg.flex:
            raise GenError("%s.%s: tagged in a non-flexible version" % (msg.name, self.name))
        self.flex_override = (vset(d["flexibleVersions"], lo, hi)
                              if "flexibleVersions" in d else None)
        self.default = d.get("default")
        t = d["type"]
        self.struct = None
        self.elem = None
        if t.startswith("[]"):
            self.kind = "array"
            et = t[2:]
            if et in PRIM_ARRAYS:
                self.elem = et
            elif et[0].isupper():
                self.struct = msg.declare(et, d.get("fields"), self)
            else:
                raise GenError("%s.%s: unsupported array element %s" % (msg.name, self.name, et))
        elif t in PRIMS:
            self.kind = "prim"
            self.prim = t
        elif t in ("string", "bytes", "records", "uuid"):
            self.kind = t
        elif t[0].isupper():
            self.kind = "struct"
            self.struct = msg.declare(t, d.get("fields"), self)
        else:
            raise GenError("%s.%s: unknown type %s" % (msg.name, self.name, t))
        if self.nullable and self.kind == "prim":
            raise GenError("%s.%s: a %s cannot be nullable" % (msg.name, self.name, t))

    @property
    def positional(self):
        return self.versions - self.tagged

    @property
    def tagged_in(self):
        return self.versions & self.tagged

    def is_ptr(self):
        return self.kind == "struct" and bool(self.nullable)

    def default_is_null(self):
        return self.default == "null"

    def comment(self):
        d = self.spec
        parts = [d["type"], d["versions"]]
        if "nullableVersions" in d:
            parts.append("nullable " + d["nullableVersions"])
        if self.tag is not None:
            parts.append("tag %d in %s" % (self.tag, d["taggedVersions"]))
        if "default" in d:
            parts.append("default " + d["default"])
        if "flexibleVersions" in d:
            parts.append("flexible " + d["flexibleVersions"])
        return ", ".join(parts)


class Struct:
    def __init__(self, msg, name, is_root=False):
        self.msg = msg
        self.name = name
        self.is_root = is_root
        self.cname = "protocol_" + (msg.name if is_root else msg.name + "_" + name)
        self.fn = msg.name if is_root else msg.name + "_" + name
        self.fields = []
        self.reach = frozenset()
        self.in_array = False
        self.needs_is_default = False
        self.defined = False

    def children(self):
        return [f.struct for f in self.fields if f.struct is not None]


class Message:
    def __init__(self, d):
        self.name = d["name"]
        self.type = d["type"]
        self.api_key = d.get("apiKey")
        vv = d["validVersions"]
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", vv)
        if not m:
            raise GenError("%s: bad validVersions %s" % (self.name, vv))
        self.lo = int(m.group(1))
        self.hi = int(m.group(2) or m.group(1))
        self.flex = vset(d["flexibleVersions"], self.lo, self.hi)
        self.flex_spec = d["flexibleVersions"]
        self.unstable = bool(d.get("latestVersionUnstable", False))
        self.structs = {}
        self.pending_common = {cs["name"]: cs for cs in d.get("commonStructs", [])}
        self.root = Struct(self, self.name, is_root=True)
        self.root.defined = True
        for name in list(self.pending_common):
            self.declare(name, None, None)
        self.root.fields = [Field(f, self, self.root) for f in d["fields"]]
        self.compute_reach()
        self.order = self.topo_order()

    def declare(self, name, fields, field):
        if fields is None:
            if name in self.structs:
                return self.structs[name]
            if name in self.pending_common:
                cs = self.pending_common.pop(name)
                s = Struct(self, name)
                self.structs[name] = s
                s.fields = [Field(f, self, s) for f in cs["fields"]]
                s.defined = True
                return s
            raise GenError("%s: struct %s is used but never declared" % (self.name, name))
        if name in self.structs or name in self.pending_common or name == self.name:
            raise GenError("%s: struct %s declared twice" % (self.name, name))
        s = Struct(self, name)
        self.structs[name] = s
        s.fields = [Field(f, self, s) for f in fields]
        s.defined = True
        return s

    def all_structs(self):
        return [self.root] + list(self.structs.values())

    def compute_reach(self):
        self.root.reach = frozenset(range(self.lo, self.hi + 1))
        for _ in range(64):
            changed = False
            for s in self.all_structs():
                for f in s.fields:
                    if f.struct is None:
                        continue
                    add = s.reach & f.versions
                    if not add <= f.struct.reach:
                        f.struct.reach = f.struct.reach | add
                        changed = True
                    if f.kind == "array":
                        f.struct.in_array = True
                    if f.kind == "struct" and f.tagged_in and not f.is_ptr():
                        f.struct.needs_is_default = True
            if not changed:
                break
        else:
            raise GenError("%s: struct reachability does not converge" % self.name)
        # a struct compared against its default compares its nested structs too
        for _ in range(64):
            changed = False
            for s in self.all_structs():
                if s.needs_is_default:
                    for f in s.fields:
                        c = f.struct
                        if f.kind == "struct" and not f.is_ptr() and not c.needs_is_default:
                            c.needs_is_default = changed = True
            if not changed:
                break

    def topo_order(self):
        order, state = [], {}

        def visit(s):
            if state.get(s.name) == 1:
                raise GenError("%s: struct %s contains itself" % (self.name, s.name))
            if state.get(s.name) == 2:
                return
            state[s.name] = 1
            for c in s.children():
                visit(c)
            state[s.name] = 2
            order.append(s)

        for s in list(self.structs.values()) + [self.root]:
            visit(s)
        return order

    def is_flex(self, f, v):
        return v in (f.flex_override if f.flex_override is not None else self.flex)

    def min_bytes(self, s, v):
        """Fewest wire bytes of struct s in version v (used to bound array counts)."""
        n = 1 if v in self.flex else 0  # the tagged-field count
        for f in s.fields:
            if v not in f.positional:
                continue
            n += self.field_min_bytes(f, v)
        return n

    def field_min_bytes(self, f, v):
        if f.kind == "prim":
            return PRIMS[f.prim][1]
        if f.kind == "uuid":
            return 16
        flex = self.is_flex(f, v)
        if f.kind == "string":
            return 1 if flex else 2
        if f.kind in ("bytes", "records", "array"):
            return 1 if flex else 4
        if v in f.nullable:
            return 1
        return self.min_bytes(f.struct, v)


def api_const(name):
    base = re.sub(r"(Request|Response)$", "", name)
    return "PROTOCOL_API_" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base).upper()


def parse_int(text, prim, where):
    t = text.strip()
    if re.fullmatch(r"-?0[0-7]+", t):
        v = int(t, 8)
    else:
        v = int(t, 0)
    lo, hi = INT_RANGES[prim]
    if not lo <= v <= hi:
        raise GenError("%s: default %s out of range for %s" % (where, text, prim))
    return v


def c_int(v, prim):
    if prim == "int64":
        if v == -2**63:
            return "INT64_MIN"
        return "INT64_C(%d)" % v if not -2**31 < v < 2**31 else str(v)
    if prim == "int32" and v == -2**31:
        return "INT32_MIN"
    if prim == "uint32":
        return "%dU" % v
    return str(v)


class Emitter:
    """Builds C text for one message."""

    def __init__(self, msg):
        self.m = msg

    # --- helpers ---------------------------------------------------------------------
    def vx(self, versions, reach):
        return vexpr(versions, reach, self.m.lo, self.m.hi)

    def flex_expr(self, f, reach):
        if f is not None and f.flex_override is not None:
            return self.vx(f.flex_override, reach)
        return self.vx(self.m.flex, reach)

    def ctype(self, f):
        if f.kind == "prim":
            return PRIMS[f.prim][0]
        if f.kind == "string":
            return "sl_str"
        if f.kind in ("bytes", "records"):
            return "sl_bytes"
        if f.kind == "uuid":
            return "protocol_uuid"
        if f.kind == "array":
            if f.struct is not None:
                return f.struct.cname + "_array"
            return "protocol_%s_array" % PRIM_ARRAYS[f.elem]
        return f.struct.cname + (" *" if f.is_ptr() else "")

    def default_c(self, f):
        """C expression of the field's default, or None when it is all-zero."""
        d = f.default
        where = "%s.%s" % (self.m.name, f.name)
        if f.kind == "prim":
            if d is None:
                return None
            if f.prim == "bool":
                if d not in ("true", "false"):
                    raise GenError("%s: bad bool default %s" % (where, d))
                return "true" if d == "true" else None
            if f.prim == "float64":
                v = float(d)
                return repr(v) if v != 0 else None
            v = parse_int(d, f.prim, where)
            return c_int(v, f.prim) if v != 0 else None
        if f.kind == "string":
            if d == "null":
                if f.versions - f.nullable:
                    raise GenError("%s: null default but not always nullable" % where)
                return "SL_STR_NULL"
            if d:
                return "(sl_str){ %s, %d }" % (c_string(d), len(d.encode()))
            return None
        if f.kind == "records":
            return "SL_BYTES_NULL"  # records default to null (upstream generator)
        if f.kind == "bytes":
            if d == "null":
                return "SL_BYTES_NULL"
            if d not in (None, ""):
                raise GenError("%s: unsupported bytes default" % where)
            return None
        if f.kind == "array":
            if d == "null":
                return "(%s){ -1, NULL }" % self.ctype(f)
            if d not in (None, ""):
                raise GenError("%s: unsupported array default" % where)
            return None
        if f.kind == "uuid":
            if d not in (None, "", "AAAAAAAAAAAAAAAAAAAAAA"):
                raise GenError("%s: unsupported uuid default" % where)
            return None
        if f.kind == "struct" and d not in (None, "null", "None"):
            raise GenError("%s: unsupported struct default" % where)
        return None

    def eq_default(self, f, x):
        """C expression: the value x of field f equals its default."""
        d = f.default
        if f.kind == "prim":
            dc = self.default_c(f)
            if f.prim == "bool":
                return x if dc == "true" else "!" + x
            return "%s == %s" % (x, dc or "0")
        if f.kind == "string":
            if d == "null":
                return "sl_str_is_null(%s)" % x
            return "sl_str_eq_c(%s, %s)" % (x, c_string(d or ""))
        if f.kind in ("bytes", "records"):
            if f.kind == "records" or d == "null":
                return "%s.len < 0" % x
            return "%s.len == 0" % x
        if f.kind == "uuid":
            return "protocol_uuid_is_zero(&%s)" % x
        if f.kind == "array":
            return "%s.count < 0" % x if d == "null" else "%s.count == 0" % x
        if f.is_ptr():
            return "%s == NULL" % x
        return "%s_is_default(version, &%s)" % (f.struct.fn, x)

    # --- header ----------------------------------------------------------------------
    def header(self):
        m = self.m
        out = []
        title = "%s: %s" % (m.name, m.type)
        if m.api_key is not None:
            title += ", api key %d" % m.api_key
        title += ", versions %d-%d, flexible %s" % (m.lo, m.hi, m.flex_spec)
        if m.unstable:
            title += ", latest version unstable"
        out.append("/* %s */" % title)
        for s in m.order:
            out.append("typedef struct %s {" % s.cname)
            width = 0
            decls = []
            for f in s.fields:
                ct = self.ctype(f)
                decl = ("%s%s;" % (ct, f.name)) if ct.endswith("*") else "%s %s;" % (ct, f.name)
                decls.append((decl, f.comment()))
                width = max(width, len(decl))
            if not decls:
                decls.append(("uint8_t no_fields_;", "the struct has no fields"))
                width = len(decls[0][0])
            for decl, com in decls:
                out.append("    %-*s /* %s */" % (width, decl, com))
            out.append("} %s;" % s.cname)
            if not s.is_root:
                out.append("/* Zero plus the schema's defaults (for building responses). */")
                out.append("void protocol_%s_init(%s *s);" % (s.fn, s.cname))
            if s.in_array:
                out.append("typedef struct %s_array {" % s.cname)
                out.append("    int32_t count; /* -1 = null */")
                out.append("    %s *items;" % s.cname)
                out.append("} %s_array;" % s.cname)
        n = m.name
        out.append("void protocol_%s_init(protocol_%s *msg);" % (n, n))
        out.append("int protocol_%s_decode(sl_reader *r, int16_t version, sl_arena *arena, "
                   "protocol_%s *out);" % (n, n))
        out.append("void protocol_%s_encode(sl_buf *out, int16_t version, const protocol_%s *msg);"
                   % (n, n))
        out.append("")
        return out

    # --- init ------------------------------------------------------------------------
    def init_fn(self, s):
        out = []
        out.append("void protocol_%s_init(%s *s) {" % (s.fn, s.cname))
        out.append("    memset(s, 0, sizeof(*s));")
        for f in s.fields:
            if f.kind == "struct" and not f.is_ptr():
                out.append("    %s_init(&s->%s);" % (self.init_name(f.struct), f.name))
                continue
            dc = self.default_c(f)
            if dc is not None:
                out.append("    s->%s = %s;" % (f.name, dc))
        out.append("}")
        return out

    def init_name(self, s):
        return "protocol_" + s.fn

    # --- decode ----------------------------------------------------------------------
    def min_expr(self, f, reach):
        """C expression: fewest wire bytes of one element of array f in `reach`."""
        m = self.m
        by_size = {}
        for v in sorted(reach):
            if f.struct is not None:
                n = m.min_bytes(f.struct, v)
            else:
                n = {"int8": 1, "int32": 4, "int64": 8, "uuid": 16}.get(f.elem)
                if n is None:
                    n = 1 if m.is_flex(f, v) else 2
            by_size.setdefault(n, set()).add(v)
        sizes = sorted(by_size)
        expr = str(sizes[-1])
        for n in reversed(sizes[:-1]):
            expr = "%s ? %d : %s" % (paren(self.vx(frozenset(by_size[n]), reach)), n, expr)
        return expr if len(sizes) == 1 else "(%s)" % expr

    def decode_field(self, f, rd, reach, flex, ind):
        """Lines that decode field f (present in every version of reach) from reader rd."""
        p = " " * ind
        x = "s->" + f.name
        nul = self.vx(f.nullable, reach)
        if f.kind == "prim":
            return ["%s%s = %s(%s);" % (p, x, PRIMS[f.prim][2], rd)]
        if f.kind == "string":
            return ["%s%s = protocol_read_str(%s, %s, %s);" % (p, x, rd, flex, nul)]
        if f.kind in ("bytes", "records"):
            return ["%s%s = protocol_read_bytes(%s, %s, %s);" % (p, x, rd, flex, nul)]
        if f.kind == "uuid":
            return ["%s%s = protocol_read_uuid(%s);" % (p, x, rd)]
        if f.kind == "array" and f.struct is None:
            return ["%sprotocol_read_%s_array(%s, %s, %s, arena, &%s);"
                    % (p, PRIM_ARRAYS[f.elem], rd, flex, nul, x)]
        if f.kind == "array":
            return [
                "%s%s.count = protocol_read_count(%s, %s, %s, %s);"
                % (p, x, rd, flex, nul, self.min_expr(f, reach)),
                "%sif (%s.count > 0) {" % (p, x),
                "%s    %s.items = sl_arena_array(arena, (size_t)%s.count, sizeof(*%s.items));"
                % (p, x, x, x),
                "%s    for (int32_t i = 0; i < %s.count && !sl_reader_err(%s); i++) {" % (p, x, rd),
                "%s        %s_decode(%s, version, arena, &%s.items[i]);" % (p, f.struct.fn, rd, x),
                "%s    }" % p,
                "%s}" % p,
            ]
        if not f.is_ptr():
            return ["%s%s_decode(%s, version, arena, &%s);" % (p, f.struct.fn, rd, x)]
        alloc = ["%s    %s = sl_arena_alloc(arena, sizeof(*%s));" % (p, x, x),
                 "%s    %s_decode(%s, version, arena, %s);" % (p, f.struct.fn, rd, x)]
        if nul == "false":
            return ["%s{" % p] + alloc + ["%s}" % p]
        cond = "sl_reader_i8(%s) >= 0" % rd
        if nul != "true":
            cond = "!%s || %s" % (paren(nul), cond)
        return ["%sif (%s) {" % (p, cond)] + alloc + ["%s}" % p]

    def guarded(self, cond, body, ind):
        p = " " * ind
        if cond == "true":
            return body
        if cond == "false":
            return []
        return ["%sif (%s) {" % (p, cond)] + ["    " + line for line in body] + ["%s}" % p]

    def decode_fn(self, s):
        m = self.m
        out = []
        if s.is_root:
            out.append("int protocol_%s_decode(sl_reader *r, int16_t version, sl_arena *arena, "
                       "%s *s) {" % (s.fn, s.cname))
            if m.lo == m.hi:
                out.append("    if (version != %d) return SL_E_UNSUPPORTED;" % m.lo)
            else:
                out.append("    if (version < %d || version > %d) return SL_E_UNSUPPORTED;"
                           % (m.lo, m.hi))
        else:
            out.append("static void %s_decode(sl_reader *r, int16_t version, sl_arena *arena, "
                       "%s *s) {" % (s.fn, s.cname))
        body = ["    %s_init(s);" % self.init_name(s)]
        flex_all = self.vx(m.flex, s.reach)
        for f in s.fields:
            pres = f.positional & s.reach
            if not pres:
                continue
            flex = self.flex_expr(f, pres)
            if flex not in ("true", "false") and f.flex_override is None:
                flex = "flex"
            lines = self.decode_field(f, "r", pres, flex, 4)
            body += self.guarded(self.vx(f.positional, s.reach), lines, 4)
        body += self.decode_tags(s, flex_all)
        uses_flex = any(re.search(r"\bflex\b", line) for line in body)
        if uses_flex:
            out.append("    const bool flex = %s;" % flex_all)
        out += body
        out.append("    return sl_reader_err(r);" if s.is_root else "}")
        if s.is_root:
            out.append("}")
        return self.fix_version_use(out)

    def fix_version_use(self, out):
        """Mark the parameters that a generated body does not use (-Wunused-parameter)."""
        params = re.findall(r"(\w+)(?=[,)])", out[0].split("(", 1)[1])
        body = "\n".join(out[1:])
        for name in reversed(params):
            if not re.search(r"\b%s\b" % name, body):
                out.insert(1, "    (void)%s;" % name)
        return out

    def tagged_fields(self, s):
        return sorted([f for f in s.fields if f.tagged_in & s.reach], key=lambda f: f.tag)

    def decode_tags(self, s, flex_all):
        if flex_all == "false":
            return []
        tagged = self.tagged_fields(s)
        if not tagged:
            return self.guarded("flex" if flex_all != "true" else "true",
                                ["    protocol_skip_tags(r);"], 4)
        body = ["    uint32_t ntags = sl_reader_uvarint(r);",
                "    for (uint32_t t = 0; t < ntags && !sl_reader_err(r); t++) {",
                "        sl_reader payload;",
                "        uint32_t tag = protocol_read_tag(r, &payload);"]
        first = True
        for f in tagged:
            pres = f.tagged_in & s.reach
            cond = "tag == %d" % f.tag
            vc = self.vx(f.tagged_in, s.reach)
            if vc != "true":
                cond += " && " + paren(vc)
            body.append("        %sif (%s) {" % ("" if first else "} else ", cond))
            body += self.decode_field(f, "&payload", pres, "true", 12)
            body.append("            protocol_read_tag_done(r, &payload);")
            first = False
        body.append("        } /* other tags: unknown here, skipped */")
        body.append("    }")
        if flex_all == "true":
            return body
        return ["    if (flex) {"] + ["    " + line for line in body] + ["    }"]

    # --- encode ----------------------------------------------------------------------
    def encode_field(self, f, reach, flex, ind):
        p = " " * ind
        x = "s->" + f.name
        nul = self.vx(f.nullable, reach)
        if f.kind == "prim":
            if f.prim == "bool":
                return ["%ssl_buf_put_u8(out, %s ? 1 : 0);" % (p, x)]
            return ["%s%s(out, %s);" % (p, PRIMS[f.prim][3], x)]
        if f.kind == "string":
            return ["%sprotocol_write_str(out, %s, %s, %s);" % (p, flex, nul, x)]
        if f.kind in ("bytes", "records"):
            return ["%sprotocol_write_bytes(out, %s, %s, %s);" % (p, flex, nul, x)]
        if f.kind == "uuid":
            return ["%sprotocol_write_uuid(out, &%s);" % (p, x)]
        if f.kind == "array" and f.struct is None:
            return ["%sprotocol_write_%s_array(out, %s, %s, &%s);"
                    % (p, PRIM_ARRAYS[f.elem], flex, nul, x)]
        if f.kind == "array":
            return [
                "%sprotocol_write_count(out, %s, %s, %s.count);" % (p, flex, nul, x),
                "%sfor (int32_t i = 0; i < %s.count; i++) {" % (p, x),
                "%s    %s_encode(out, version, &%s.items[i]);" % (p, f.struct.fn, x),
                "%s}" % p,
            ]
        if not f.is_ptr():
            return ["%s%s_encode(out, version, &%s);" % (p, f.struct.fn, x)]
        lines = ["%sif (%s) {" % (p, x)]
        if nul != "false":
            lines.append("%s    %ssl_buf_put_i8(out, 1);" % (p, "" if nul == "true" else
                                                           "if (%s) " % nul))
        lines.append("%s    %s_encode(out, version, %s);" % (p, f.struct.fn, x))
        if nul != "true":
            lines.append("%s} else %s{" % (p, "" if nul == "false" else "if (!%s) " % paren(nul)))
            lines.append("%s    %s d; /* null where not nullable: the default */" % (p, f.struct.cname))
            lines.append("%s    protocol_%s_init(&d);" % (p, f.struct.fn))
            lines.append("%s    %s_encode(out, version, &d);" % (p, f.struct.fn))
        if nul != "false":
            lines.append("%s} else {" % p)
            lines.append("%s    sl_buf_put_i8(out, -1);" % p)
        lines.append("%s}" % p)
        return lines

    def encode_fn(self, s):
        m = self.m
        out = []
        if s.is_root:
            out.append("void protocol_%s_encode(sl_buf *out, int16_t version, const %s *s) {"
                       % (s.fn, s.cname))
            if m.lo == m.hi:
                out.append("    SL_ASSERT(version == %d);" % m.lo)
            else:
                out.append("    SL_ASSERT(version >= %d && version <= %d);" % (m.lo, m.hi))
        else:
            out.append("static void %s_encode(sl_buf *out, int16_t version, const %s *s) {"
                       % (s.fn, s.cname))
        body = []
        flex_all = self.vx(m.flex, s.reach)
        for f in s.fields:
            pres = f.positional & s.reach
            if not pres:
                continue
            flex = self.flex_expr(f, pres)
            if flex not in ("true", "false") and f.flex_override is None:
                flex = "flex"
            body += self.guarded(self.vx(f.positional, s.reach),
                                 self.encode_field(f, pres, flex, 4), 4)
        body += self.encode_tags(s, flex_all)
        if any(re.search(r"\bflex\b", line) for line in body):
            out.append("    const bool flex = %s;" % flex_all)
        out += body
        out.append("}")
        return self.fix_version_use(out)

    def tag_cond(self, f, s):
        vc = self.vx(f.tagged_in, s.reach)
        eq = self.eq_default(f, "s->" + f.name)
        nd = "!" + eq if re.fullmatch(r"[\w]+\(.*\)|[\w>.-]+", eq) else "!(%s)" % eq
        return nd if vc == "true" else "%s && %s" % (paren(vc), nd)

    def encode_tags(self, s, flex_all):
        if flex_all == "false":
            return []
        tagged = self.tagged_fields(s)
        if not tagged:
            return self.guarded("flex" if flex_all != "true" else "true",
                                ["    sl_buf_put_u8(out, 0); /* no tagged fields */"], 4)
        body = []
        for f in tagged:
            body.append("    const bool has_%s = %s;" % (f.name, self.tag_cond(f, s)))
        body.append("    sl_buf_put_uvarint(out, %s);" % " + ".join(
            "(uint32_t)has_%s" % f.name for f in tagged))
        for f in tagged:
            pres = f.tagged_in & s.reach
            body.append("    if (has_%s) {" % f.name)
            body.append("        size_t mark = protocol_write_tag_begin(out, %d);" % f.tag)
            body += self.encode_field(f, pres, "true", 8)
            body.append("        protocol_write_tag_end(out, mark);")
            body.append("    }")
        if flex_all == "true":
            return body
        return ["    if (flex) {"] + ["    " + line for line in body] + ["    }"]

    # --- is_default (tagged struct fields) --------------------------------------------
    def is_default_fn(self, s):
        out = ["static bool %s_is_default(int16_t version, const %s *s) {" % (s.fn, s.cname)]
        for f in s.fields:
            cond = self.vx(f.versions, s.reach)
            if cond == "false":
                continue
            eq = self.eq_default(f, "s->" + f.name)
            pre = "" if cond == "true" else paren(cond) + " && "
            out.append("    if (%s!(%s)) return false;" % (pre, eq))
        out.append("    return true;")
        out.append("}")
        return self.fix_version_use(out)

    def source(self):
        m = self.m
        out = ["/* ---- %s ---- */" % m.name, ""]
        for s in m.order:
            if not s.is_root:
                out += self.init_fn(s) + [""]
        for s in m.order:
            if s.needs_is_default:
                out += self.is_default_fn(s) + [""]
        for s in m.order:
            if s.is_root:
                out += self.init_fn(s) + [""]
            out += self.decode_fn(s) + [""]
            out += self.encode_fn(s) + [""]
        return out


class TestEmitter(Emitter):
    """Test-only helpers: fill every present field with non-default values; equality."""

    def fill_field(self, f, reach, ind, tagged):
        p = " " * ind
        x = "s->" + f.name
        nul = "false" if tagged else self.vx(f.nullable, reach)
        maybe_null = None if nul == "false" else ("test_null(rng)" if nul == "true" else
                                                  "%s && test_null(rng)" % paren(nul))
        if f.kind == "prim":
            ct = PRIMS[f.prim][0]
            if f.prim == "bool":
                return ["%s%s = %s;" % (p, x, "false" if self.default_c(f) == "true" else "true")]
            if f.prim == "float64":
                return ["%s%s = (double)(test_next(rng) %% 1000) + 0.5;" % (p, x)]
            dc = self.default_c(f) or "0"
            return ["%s%s = (%s)test_next(rng);" % (p, x, ct),
                    "%sif (%s == (%s)%s) %s = (%s)(%s ^ 1);" % (p, x, ct, dc, x, ct, dc)]
        if f.kind == "string":
            v = "test_str(arena, rng)"
            null = "SL_STR_NULL"
        elif f.kind in ("bytes", "records"):
            v = "test_bytes(arena, rng)"
            null = "SL_BYTES_NULL"
        elif f.kind == "uuid":
            return ["%s%s = test_uuid(rng);" % (p, x)]
        elif f.kind == "array" and f.struct is None:
            fn = "test_%s_array" % PRIM_ARRAYS[f.elem]
            return ["%s%s(arena, rng, %s, &%s);" % (p, fn, "true" if tagged else "false", x),
                    ] + (["%sif (%s) %s.count = -1;" % (p, maybe_null, x)] if maybe_null else [])
        elif f.kind == "array":
            lines = ["%s%s.count = (int32_t)(test_next(rng) %% 3)%s;" % (p, x, " + 1" if tagged else ""),
                     "%s%s.items = sl_arena_array(arena, (size_t)%s.count, sizeof(*%s.items));"
                     % (p, x, x, x),
                     "%sfor (int32_t i = 0; i < %s.count; i++) {" % (p, x),
                     "%s    %s_fill(&%s.items[i], version, arena, rng);" % (p, f.struct.fn, x),
                     "%s}" % p]
            if maybe_null:
                lines.append("%sif (%s) %s.count = -1;" % (p, maybe_null, x))
            return lines
        elif not f.is_ptr():
            return ["%s%s_fill(&%s, version, arena, rng);" % (p, f.struct.fn, x)]
        else:
            lines = ["%s%s = sl_arena_alloc(arena, sizeof(*%s));" % (p, x, x),
                     "%s%s_fill(%s, version, arena, rng);" % (p, f.struct.fn, x)]
            if maybe_null:
                lines.append("%sif (%s) %s = NULL;" % (p, maybe_null, x))
            return lines
        if maybe_null:
            return ["%s%s = %s ? %s : %s;" % (p, x, maybe_null, null, v)]
        return ["%s%s = %s;" % (p, x, v)]

    def fill_fn(self, s):
        out = ["static void %s_fill(%s *s, int16_t version, sl_arena *arena, uint64_t *rng) {"
               % (s.fn, s.cname)]
        body = ["    protocol_%s_init(s);" % s.fn]
        for f in s.fields:
            for versions, tagged in ((f.positional, False), (f.tagged_in, True)):
                pres = versions & s.reach
                if not pres:
                    continue
                body += self.guarded(self.vx(versions, s.reach),
                                     self.fill_field(f, pres, 4, tagged), 4)
        out += body
        out.append("}")
        return self.fix_version_use(out)

    def eq_field(self, f):
        a, b = "a->" + f.name, "b->" + f.name
        if f.kind == "prim" and f.prim == "float64":  # bitwise: NaN from the wire too
            return "memcmp(&%s, &%s, sizeof(double)) == 0" % (a, b)
        if f.kind == "prim":
            return "%s == %s" % (a, b)
        if f.kind == "string":
            return "sl_str_eq(%s, %s)" % (a, b)
        if f.kind in ("bytes", "records"):
            return "test_bytes_eq(%s, %s)" % (a, b)
        if f.kind == "uuid":
            return "memcmp(%s.b, %s.b, 16) == 0" % (a, b)
        if f.kind == "array" and f.struct is None:
            return "test_%s_array_eq(&%s, &%s)" % (PRIM_ARRAYS[f.elem], a, b)
        if f.kind == "array":
            return "%s_array_equal(&%s, &%s, version)" % (f.struct.fn, a, b)
        if f.is_ptr():
            return "(%s == NULL ? %s == NULL : %s != NULL && %s_equal(%s, %s, version))" % (
                a, b, b, f.struct.fn, a, b)
        return "%s_equal(&%s, &%s, version)" % (f.struct.fn, a, b)

    def equal_fn(self, s):
        out = ["static bool %s_equal(const %s *a, const %s *b, int16_t version) {"
               % (s.fn, s.cname, s.cname)]
        for f in s.fields:
            cond = self.vx(f.versions, s.reach)
            if cond == "false":
                continue
            pre = "" if cond == "true" else paren(cond) + " && "
            out.append("    if (%s!(%s)) return false;" % (pre, self.eq_field(f)))
        out.append("    return true;")
        out.append("}")
        out = self.fix_version_use(out)
        if s.in_array:
            out += ["",
                    "static bool %s_array_equal(const %s_array *a, const %s_array *b, int16_t version) {"
                    % (s.fn, s.cname, s.cname),
                    "    if (a->count != b->count) return false;",
                    "    for (int32_t i = 0; i < a->count; i++) {",
                    "        if (!%s_equal(&a->items[i], &b->items[i], version)) return false;" % s.fn,
                    "    }",
                    "    return true;",
                    "}"]
        return out

    def source(self):
        m = self.m
        out = ["/* ---- %s ---- */" % m.name, ""]
        for s in m.order:
            out += self.fill_fn(s) + [""]
            out += self.equal_fn(s) + [""]
        n = m.name
        out += ["void protocol_test_fill_%s(protocol_%s *msg, int16_t version, sl_arena *arena, "
                "uint64_t seed) {" % (n, n),
                "    uint64_t rng = seed;",
                "    %s_fill(msg, version, arena, &rng);" % n,
                "}", "",
                "bool protocol_test_equal_%s(const protocol_%s *a, const protocol_%s *b, "
                "int16_t version) {" % (n, n, n),
                "    return %s_equal(a, b, version);" % n,
                "}", ""]
        out += any_wrappers(m, "test_") + [
            "static void test_%s_fill_any(void *msg, int16_t version, sl_arena *arena, "
            "uint64_t seed) {" % n,
            "    protocol_test_fill_%s(msg, version, arena, seed);" % n,
            "}", "",
            "static bool test_%s_equal_any(const void *a, const void *b, int16_t version) {" % n,
            "    return protocol_test_equal_%s(a, b, version);" % n,
            "}", ""]
        return out


def any_wrappers(m, prefix):
    n = m.name
    return [
        "static void %s%s_init_any(void *msg) {" % (prefix, n),
        "    protocol_%s_init(msg);" % n,
        "}", "",
        "static int %s%s_decode_any(sl_reader *r, int16_t version, sl_arena *arena, void *out) {"
        % (prefix, n),
        "    return protocol_%s_decode(r, version, arena, out);" % n,
        "}", "",
        "static void %s%s_encode_any(sl_buf *out, int16_t version, const void *msg) {" % (prefix, n),
        "    protocol_%s_encode(out, version, msg);" % n,
        "}", "",
    ]


def load_messages(schema_dir):
    msgs = []
    for p in sorted(glob.glob(os.path.join(schema_dir, "*.json"))):
        with open(p, encoding="utf-8") as fp:
            d = json.load(fp)
        try:
            msgs.append(Message(d))
        except GenError as e:
            raise SystemExit("%s: %s" % (p, e))
    return msgs


def load_errors(schema_dir):
    errors = []
    with open(os.path.join(schema_dir, "errors.tsv"), encoding="utf-8") as fp:
        for line in fp:
            if line.startswith("#") or not line.strip():
                continue
            code, name, retriable = line.rstrip("\n").split("\t")
            errors.append((int(code), name, retriable == "1"))
    return errors


def api_pairs(msgs):
    by_key = {}
    for m in msgs:
        if m.type in ("request", "response"):
            by_key.setdefault(m.api_key, {})[m.type] = m
    for key, pair in sorted(by_key.items()):
        if set(pair) != {"request", "response"}:
            raise SystemExit("api key %d lacks a request or a response" % key)
        rq, rs = pair["request"], pair["response"]
        if (rq.lo, rq.hi) != (rs.lo, rs.hi):
            raise SystemExit("api key %d: request and response versions differ" % key)
    return by_key


BANNER = "/* Generated by protocol/gen/protocol_gen.py from protocol/schema/; do not edit. */\n"


def gen_header(msgs, errors, by_key):
    out = [BANNER.rstrip("\n"),
           "/* protocol_gen.h — generated Kafka message types and codecs. Included by",
           " * protocol/protocol.h, whose \"message codecs\" section documents the API. */",
           "#ifndef PROTOCOL_GEN_H", "#define PROTOCOL_GEN_H", "",
           "#ifndef PROTOCOL_H", "#error \"include protocol/protocol.h, not protocol_gen.h\"",
           "#endif", "",
           "/* Kafka error codes (Errors.java, Kafka 3.9). */",
           "enum protocol_error_code {"]
    for code, name, _ in errors:
        out.append("    PROTOCOL_ERR_%s = %d," % (name, code))
    out += ["};", "", "/* API keys. */", "enum protocol_api_key {"]
    for key, pair in sorted(by_key.items()):
        out.append("    %s = %d," % (api_const(pair["request"].name), key))
    out += ["};", "#define PROTOCOL_API_KEY_MAX %d /* highest key in the table */" % max(by_key),
            ""]
    for m in msgs:
        out += Emitter(m).header()
    out += ["#endif", ""]
    return "\n".join(out)


def gen_source(msgs, errors, by_key):
    out = [BANNER.rstrip("\n"),
           "/* protocol_gen.c — Kafka message codecs (see protocol/protocol.h). */",
           '#include "protocol/protocol.h"', "",
           '#include "common/sl_assert.h"', '#include "common/sl_err.h"', "",
           "#include <string.h>", ""]
    for m in msgs:
        out += Emitter(m).source()
    out.append("/* ---- API table ---- */")
    out.append("")
    for key, pair in sorted(by_key.items()):
        out += any_wrappers(pair["request"], "") + any_wrappers(pair["response"], "")
    out.append("static const protocol_api apis[PROTOCOL_API_KEY_MAX + 1] = {")
    for key, pair in sorted(by_key.items()):
        rq, rs = pair["request"], pair["response"]
        name = re.sub(r"Request$", "", rq.name)
        flex_min = min(rq.flex) if rq.flex else -1
        out.append("    [%d] = { %d, %s, %d, %d, %d, %s, sizeof(protocol_%s), sizeof(protocol_%s),"
                   % (key, key, c_string(name), rq.lo, rq.hi, flex_min,
                      "true" if rq.unstable else "false", rq.name, rs.name))
        out.append("            %s_init_any, %s_decode_any, %s_encode_any," % ((rq.name,) * 3))
        out.append("            %s_init_any, %s_decode_any, %s_encode_any }," % ((rs.name,) * 3))
    out += ["};", "",
            "const protocol_api *protocol_api_find(int16_t api_key) {",
            "    if (api_key < 0 || api_key > PROTOCOL_API_KEY_MAX) return NULL;",
            "    if (!apis[api_key].name) return NULL; /* a hole in the key space */",
            "    return &apis[api_key];",
            "}", "",
            "/* ---- error codes ---- */", "",
            "const char *protocol_error_name(int16_t code) {",
            "    switch (code) {"]
    for code, name, _ in errors:
        out.append("    case %d:" % code)
        out.append("        return %s;" % c_string(name))
    out += ["    default:", "        return \"UNKNOWN\";", "    }", "}", "",
            "bool protocol_error_retriable(int16_t code) {",
            "    switch (code) {"]
    for code, name, retriable in errors:
        if retriable:
            out.append("    case PROTOCOL_ERR_%s:" % name)
    out += ["        return true;", "    default:", "        return false;", "    }", "}", ""]
    return "\n".join(out)


def gen_test_header(msgs):
    out = [BANNER.rstrip("\n"),
           "/* protocol_gen_test.h — test-only helpers for the generated codecs, linked",
           " * into the unit tests only. fill: every field present in version set to a",
           " * non-default value (arrays of 0-2 elements, tagged fields set, nullable",
           " * non-tagged fields sometimes null), deterministic in seed, memory from arena.",
           " * equal: every field present in version is equal. */",
           "#ifndef PROTOCOL_GEN_TEST_H", "#define PROTOCOL_GEN_TEST_H", "",
           '#include "protocol/protocol.h"', "",
           "typedef struct protocol_test_codec {",
           "    const char *name;   /* \"ProduceRequest\" */",
           "    const char *type;   /* request, response, header, data */",
           "    int16_t api_key;    /* -1 when not an API message */",
           "    int16_t min_version;",
           "    int16_t max_version;",
           "    int16_t flexible_min; /* -1 if none */",
           "    size_t size;        /* sizeof(protocol_<name>) */",
           "    void (*init)(void *msg);",
           "    int (*decode)(sl_reader *r, int16_t version, sl_arena *arena, void *out);",
           "    void (*encode)(sl_buf *out, int16_t version, const void *msg);",
           "    void (*fill)(void *msg, int16_t version, sl_arena *arena, uint64_t seed);",
           "    bool (*equal)(const void *a, const void *b, int16_t version);",
           "} protocol_test_codec;", "",
           "/* Every generated message, sorted by name. */",
           "extern const protocol_test_codec protocol_test_codecs[];",
           "extern const size_t protocol_test_codec_count;", ""]
    for m in msgs:
        n = m.name
        out.append("void protocol_test_fill_%s(protocol_%s *msg, int16_t version, sl_arena *arena, "
                   "uint64_t seed);" % (n, n))
        out.append("bool protocol_test_equal_%s(const protocol_%s *a, const protocol_%s *b, "
                   "int16_t version);" % (n, n, n))
    out += ["", "#endif", ""]
    return "\n".join(out)


TEST_PRELUDE = r"""
/* splitmix64: a deterministic stream from the seed */
static uint64_t test_next(uint64_t *rng) {
    uint64_t z = (*rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* true one time in four: nullable fields are sometimes null */
static bool test_null(uint64_t *rng) {
    return test_next(rng) % 4 == 0;
}

static sl_str test_str(sl_arena *arena, uint64_t *rng) {
    size_t len = 1 + test_next(rng) % 8;
    char *p = sl_arena_alloc(arena, len);
    for (size_t i = 0; i < len; i++) {
        p[i] = (char)('a' + test_next(rng) % 26);
    }
    return (sl_str){ p, (int32_t)len };
}

static sl_bytes test_bytes(sl_arena *arena, uint64_t *rng) {
    size_t len = 1 + test_next(rng) % 16;
    uint8_t *p = sl_arena_alloc(arena, len);
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)test_next(rng);
    }
    return (sl_bytes){ p, (int32_t)len };
}

static bool test_bytes_eq(sl_bytes a, sl_bytes b) {
    if (a.len != b.len) return false;
    return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

static protocol_uuid test_uuid(uint64_t *rng) {
    protocol_uuid u;
    uint64_t hi = test_next(rng), lo = test_next(rng);
    for (int i = 0; i < 8; i++) {
        u.b[i] = (uint8_t)(hi >> (56 - 8 * i));
        u.b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
    u.b[15] |= 1; /* never the zero uuid, the default */
    return u;
}

static int32_t test_count(uint64_t *rng, bool non_empty) {
    return (int32_t)(test_next(rng) % 3) + (non_empty && 1);
}

static void test_int8_array(sl_arena *arena, uint64_t *rng, bool non_empty, protocol_int8_array *a) {
    a->count = test_count(rng, non_empty);
    a->items = sl_arena_array(arena, (size_t)a->count, sizeof(*a->items));
    for (int32_t i = 0; i < a->count; i++) {
        a->items[i] = (int8_t)test_next(rng);
    }
}

static void test_int32_array(sl_arena *arena, uint64_t *rng, bool non_empty,
                             protocol_int32_array *a) {
    a->count = test_count(rng, non_empty);
    a->items = sl_arena_array(arena, (size_t)a->count, sizeof(*a->items));
    for (int32_t i = 0; i < a->count; i++) {
        a->items[i] = (int32_t)test_next(rng);
    }
}

static void test_int64_array(sl_arena *arena, uint64_t *rng, bool non_empty,
                             protocol_int64_array *a) {
    a->count = test_count(rng, non_empty);
    a->items = sl_arena_array(arena, (size_t)a->count, sizeof(*a->items));
    for (int32_t i = 0; i < a->count; i++) {
        a->items[i] = (int64_t)test_next(rng);
    }
}

static void test_uuid_array(sl_arena *arena, uint64_t *rng, bool non_empty, protocol_uuid_array *a) {
    a->count = test_count(rng, non_empty);
    a->items = sl_arena_array(arena, (size_t)a->count, sizeof(*a->items));
    for (int32_t i = 0; i < a->count; i++) {
        a->items[i] = test_uuid(rng);
    }
}

static void test_str_array(sl_arena *arena, uint64_t *rng, bool non_empty, protocol_str_array *a) {
    a->count = test_count(rng, non_empty);
    a->items = sl_arena_array(arena, (size_t)a->count, sizeof(*a->items));
    for (int32_t i = 0; i < a->count; i++) {
        a->items[i] = test_str(arena, rng);
    }
}

#define TEST_ARRAY_EQ(name, type)                                                                  \
    static bool test_##name##_array_eq(const type *a, const type *b) {                             \
        if (a->count != b->count) return false;                                                    \
        for (int32_t i = 0; i < a->count; i++) {                                                   \
            if (memcmp(&a->items[i], &b->items[i], sizeof(a->items[i])) != 0) return false;        \
        }                                                                                          \
        return true;                                                                               \
    }
TEST_ARRAY_EQ(int8, protocol_int8_array)
TEST_ARRAY_EQ(int32, protocol_int32_array)
TEST_ARRAY_EQ(int64, protocol_int64_array)
TEST_ARRAY_EQ(uuid, protocol_uuid_array)

static bool test_str_array_eq(const protocol_str_array *a, const protocol_str_array *b) {
    if (a->count != b->count) return false;
    for (int32_t i = 0; i < a->count; i++) {
        if (!sl_str_eq(a->items[i], b->items[i])) return false;
    }
    return true;
}
"""


def gen_test_source(msgs):
    out = [BANNER.rstrip("\n"),
           "/* protocol_gen_test.c — test-only helpers for the generated codecs. */",
           '#include "protocol/protocol_gen_test.h"', "",
           "#include <string.h>", TEST_PRELUDE]
    used = set()
    for m in msgs:
        for s in m.all_structs():
            for f in s.fields:
                if f.kind == "array" and f.struct is None:
                    used.add(PRIM_ARRAYS[f.elem])
    for m in msgs:
        out += TestEmitter(m).source()
    out.append("const protocol_test_codec protocol_test_codecs[] = {")
    for m in msgs:
        n = m.name
        out.append("    { %s, %s, %d, %d, %d, %d, sizeof(protocol_%s)," % (
            c_string(n), c_string(m.type), m.api_key if m.api_key is not None and
            m.type in ("request", "response") else -1, m.lo, m.hi,
            min(m.flex) if m.flex else -1, n))
        out.append("      test_%s_init_any, test_%s_decode_any, test_%s_encode_any," % ((n,) * 3))
        out.append("      test_%s_fill_any, test_%s_equal_any }," % ((n,) * 2))
    out += ["};", "const size_t protocol_test_codec_count = %d;" % len(msgs), ""]
    text = "\n".join(out)
    # drop helpers for primitive arrays that no schema uses (-Wunused-function)
    for suffix in PRIM_ARRAYS.values():
        if suffix not in used:
            raise SystemExit("primitive array %s unused: trim the test prelude" % suffix)
    return text


def write_file(path, text):
    """Write through a temporary file, so an interrupted run leaves no half file (make
    reruns the generator only when an output is older than an input, so every run
    writes every output)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fp:
        fp.write(text)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    schema_dir, out_dir = sys.argv[1], sys.argv[2]
    msgs = load_messages(schema_dir)
    errors = load_errors(schema_dir)
    by_key = api_pairs(msgs)
    os.makedirs(out_dir, exist_ok=True)
    files = {
        "protocol_gen.h": gen_header(msgs, errors, by_key),
        "protocol_gen.c": gen_source(msgs, errors, by_key),
        "protocol_gen_test.h": gen_test_header(msgs),
        "protocol_gen_test.c": gen_test_source(msgs),
    }
    sig = re.compile(r"^(static )?\w[\w ]*[ *]\w+\(.*\)( \{|;)$")
    for name, text in files.items():
        text = "\n".join(wrap_signature(line) if sig.match(line) else line
                         for line in text.split("\n"))
        write_file(os.path.join(out_dir, name), text)


if __name__ == "__main__":
    main()
