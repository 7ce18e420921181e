/* sl_config.c — properties parsing and the typed registry (see sl_config.h). */
#include "common/sl_config.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SL_PROPS_FILE_MAX (16 << 20) /* a properties file larger than this is refused */

static void errf(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t err_size, const char *fmt, ...) {
    if (!err || err_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

/* ---------------- properties ---------------- */

void sl_props_init(sl_props *props) {
    props->items = NULL;
    props->count = 0;
    props->cap = 0;
}

void sl_props_deinit(sl_props *props) {
    for (size_t i = 0; i < props->count; i++) {
        sl_free(props->items[i].key);
        sl_free(props->items[i].value);
    }
    sl_free(props->items);
    sl_props_init(props);
}

static void props_put(sl_props *props, char *key, char *value, int line) {
    for (size_t i = 0; i < props->count; i++) {
        if (strcmp(props->items[i].key, key) == 0) {
            sl_free(props->items[i].value);
            sl_free(key);
            props->items[i].value = value;
            props->items[i].line = line;
            return;
        }
    }
    if (props->count == props->cap) {
        props->cap = props->cap ? props->cap * 2 : 16;
        props->items = sl_realloc(props->items, props->cap * sizeof(sl_prop));
    }
    props->items[props->count++] = (sl_prop){ key, value, line };
}

void sl_props_set(sl_props *props, const char *key, const char *value) {
    props_put(props, sl_strdup(key), sl_strdup(value), 0);
}

bool sl_props_remove(sl_props *props, const char *key) {
    for (size_t i = 0; i < props->count; i++) {
        if (strcmp(props->items[i].key, key) == 0) {
            sl_free(props->items[i].key);
            sl_free(props->items[i].value);
            memmove(&props->items[i], &props->items[i + 1],
                    (props->count - i - 1) * sizeof(sl_prop));
            props->count--;
            return true;
        }
    }
    return false;
}

void sl_props_copy(sl_props *dst, const sl_props *src) {
    for (size_t i = 0; i < src->count; i++) {
        props_put(dst, sl_strdup(src->items[i].key), sl_strdup(src->items[i].value),
                  src->items[i].line);
    }
}

const char *sl_props_get(const sl_props *props, const char *key) {
    for (size_t i = 0; i < props->count; i++) {
        if (strcmp(props->items[i].key, key) == 0) return props->items[i].value;
    }
    return NULL;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void put_utf8(sl_buf *out, uint32_t cp) {
    if (cp < 0x80) {
        sl_buf_put_u8(out, (uint8_t)cp);
    } else if (cp < 0x800) {
        sl_buf_put_u8(out, (uint8_t)(0xc0 | (cp >> 6)));
        sl_buf_put_u8(out, (uint8_t)(0x80 | (cp & 0x3f)));
    } else {
        sl_buf_put_u8(out, (uint8_t)(0xe0 | (cp >> 12)));
        sl_buf_put_u8(out, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
        sl_buf_put_u8(out, (uint8_t)(0x80 | (cp & 0x3f)));
    }
}

/* Cursor over the text that joins continuation lines and decodes escapes. */
typedef struct props_lexer {
    const char *p, *end;
    int line;
} props_lexer;

static bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\f';
}

/* Read one logical line's key and value into key/value buffers.
 * Returns 1 when a pair was read, 0 for blank/comment lines, -1 at end. */
static int props_next(props_lexer *lx, sl_buf *key, sl_buf *value, int *line_out, char *err,
                      size_t err_size) {
    if (lx->p >= lx->end) return -1;
    lx->line++;
    while (lx->p < lx->end && is_ws(*lx->p)) lx->p++;
    *line_out = lx->line;
    if (lx->p >= lx->end) return -1;
    if (*lx->p == '\n' || *lx->p == '\r') {
        if (*lx->p == '\r' && lx->p + 1 < lx->end && lx->p[1] == '\n') lx->p++;
        lx->p++;
        return 0;
    }
    if (*lx->p == '#' || *lx->p == '!') {
        while (lx->p < lx->end && *lx->p != '\n') lx->p++;
        if (lx->p < lx->end) lx->p++;
        return 0;
    }
    sl_buf_reset(key);
    sl_buf_reset(value);
    sl_buf *cur = key;
    bool in_value = false, value_started = false, sep_seen = false;
    while (lx->p < lx->end) {
        char c = *lx->p++;
        if (c == '\n' || c == '\r') {
            if (c == '\r' && lx->p < lx->end && *lx->p == '\n') lx->p++;
            break;
        }
        if (c == '\\') {
            if (lx->p >= lx->end) break;
            char e = *lx->p++;
            if (e == '\n' || e == '\r') { /* continuation: skip leading ws of next line */
                if (e == '\r' && lx->p < lx->end && *lx->p == '\n') lx->p++;
                lx->line++;
                while (lx->p < lx->end && is_ws(*lx->p)) lx->p++;
                continue;
            }
            if (in_value) value_started = true;
            switch (e) {
            case 't':
                sl_buf_put_u8(cur, '\t');
                break;
            case 'n':
                sl_buf_put_u8(cur, '\n');
                break;
            case 'r':
                sl_buf_put_u8(cur, '\r');
                break;
            case 'f':
                sl_buf_put_u8(cur, '\f');
                break;
            case 'u': {
                uint32_t cp = 0;
                for (int i = 0; i < 4; i++) {
                    int h = lx->p < lx->end ? hexval(*lx->p) : -1;
                    if (h < 0) {
                        errf(err, err_size, "line %d: malformed \\uXXXX escape", lx->line);
                        return -2;
                    }
                    cp = cp << 4 | (uint32_t)h;
                    lx->p++;
                }
                put_utf8(cur, cp);
                break;
            }
            default:
                sl_buf_put_u8(cur, (uint8_t)e);
                break;
            }
            continue;
        }
        if (!in_value) {
            if (c == '=' || c == ':') {
                in_value = true;
                sep_seen = true;
                cur = value;
                continue;
            }
            if (is_ws(c)) {
                /* whitespace ends the key; an '=' or ':' may still follow */
                while (lx->p < lx->end && is_ws(*lx->p)) lx->p++;
                if (lx->p < lx->end && (*lx->p == '=' || *lx->p == ':')) lx->p++;
                in_value = true;
                sep_seen = true;
                cur = value;
                continue;
            }
            sl_buf_put_u8(cur, (uint8_t)c);
        } else {
            if (!value_started && is_ws(c)) continue;
            value_started = true;
            sl_buf_put_u8(cur, (uint8_t)c);
        }
    }
    (void)sep_seen;
    /* Trailing whitespace in values is kept by Java; we trim it, since a stray space
     * after a number would otherwise be a confusing start-up failure. */
    while (value->len > 0 && is_ws((char)value->data[value->len - 1])) value->len--;
    return 1;
}

int sl_props_parse(sl_props *props, const char *text, size_t len, char *err, size_t err_size) {
    props_lexer lx = { text, text + len, 0 };
    sl_buf key, value;
    sl_buf_init(&key);
    sl_buf_init(&value);
    int rc = SL_OK;
    for (;;) {
        int line = 0;
        int r = props_next(&lx, &key, &value, &line, err, err_size);
        if (r == -1) break;
        if (r == -2) {
            rc = SL_E_INVALID;
            break;
        }
        if (r == 0) continue;
        if (key.len == 0) {
            errf(err, err_size, "line %d: missing key", line);
            rc = SL_E_INVALID;
            break;
        }
        if (memchr(key.data, '\0', key.len) || (value.len && memchr(value.data, '\0', value.len))) {
            errf(err, err_size, "line %d: NUL character in key or value", line);
            rc = SL_E_INVALID;
            break;
        }
        props_put(props, sl_strndup((const char *)key.data, key.len),
                  sl_strndup(value.len ? (const char *)value.data : "", value.len), line);
    }
    sl_buf_deinit(&key);
    sl_buf_deinit(&value);
    return rc;
}

int sl_props_load(sl_props *props, const char *path, char *err, size_t err_size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        errf(err, err_size, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    sl_buf text;
    sl_buf_init(&text);
    int rc = SL_OK;
    for (;;) {
        uint8_t *p = sl_buf_reserve(&text, 65536);
        size_t n = fread(p, 1, 65536, f);
        text.len -= 65536 - n;
        if (n < 65536) break;
        if (text.len > SL_PROPS_FILE_MAX) {
            errf(err, err_size, "%s is larger than %d bytes", path, SL_PROPS_FILE_MAX);
            rc = SL_E_TOO_LARGE;
            break;
        }
    }
    if (rc == SL_OK && ferror(f)) {
        errf(err, err_size, "cannot read %s", path);
        rc = -EIO;
    }
    fclose(f);
    if (rc == SL_OK) rc = sl_props_parse(props, (const char *)text.data, text.len, err, err_size);
    sl_buf_deinit(&text);
    return rc;
}

/* ---------------- typed registry ---------------- */

const sl_cfg_def *sl_config_find(const sl_cfg_table *table, const char *name) {
    for (size_t i = 0; i < table->count; i++) {
        if (strcmp(table->defs[i].name, name) == 0) return &table->defs[i];
    }
    return NULL;
}

static bool in_choices(const char *choices, const char *v, size_t vlen) {
    const char *p = choices;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == vlen && strncmp(p, v, n) == 0) return true;
        if (!comma) break;
        p = comma + 1;
    }
    return false;
}

static int parse_i64(const char *value, int64_t *out) {
    if (!value || !*value) return SL_E_INVALID;
    errno = 0;
    char *end;
    long long v = strtoll(value, &end, 10);
    if (errno || *end) return SL_E_INVALID;
    *out = v;
    return SL_OK;
}

static int check_range(const sl_cfg_def *def, double v, char *err, size_t err_size) {
    if (def->min > def->max) return SL_OK;
    if (v < (double)def->min) {
        errf(err, err_size, "Value must be at least %lld", (long long)def->min);
        return SL_E_CONFIG;
    }
    if (v > (double)def->max) {
        errf(err, err_size, "Value must be no more than %lld", (long long)def->max);
        return SL_E_CONFIG;
    }
    return SL_OK;
}

int sl_config_check(const sl_cfg_def *def, const char *value, char *err, size_t err_size) {
    switch (def->type) {
    case SL_CFG_INT:
    case SL_CFG_LONG: {
        int64_t v;
        if (parse_i64(value, &v) < 0) {
            errf(err, err_size, "Not a number of type %s", def->type == SL_CFG_INT ? "INT" : "LONG");
            return SL_E_CONFIG;
        }
        if (def->type == SL_CFG_INT && (v < INT32_MIN || v > INT32_MAX)) {
            errf(err, err_size, "Not a number of type INT");
            return SL_E_CONFIG;
        }
        return check_range(def, (double)v, err, err_size);
    }
    case SL_CFG_BOOL:
        if (!value || (strcasecmp(value, "true") != 0 && strcasecmp(value, "false") != 0)) {
            errf(err, err_size, "Expected value to be either true or false");
            return SL_E_CONFIG;
        }
        return SL_OK;
    case SL_CFG_DOUBLE: {
        if (!value || !*value) {
            errf(err, err_size, "Not a number of type DOUBLE");
            return SL_E_CONFIG;
        }
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || *end || isnan(v)) {
            errf(err, err_size, "Not a number of type DOUBLE");
            return SL_E_CONFIG;
        }
        return check_range(def, v, err, err_size);
    }
    case SL_CFG_STRING:
        if (def->choices && value && !in_choices(def->choices, value, strlen(value))) {
            errf(err, err_size, "String must be one of: %s", def->choices);
            return SL_E_CONFIG;
        }
        return SL_OK;
    case SL_CFG_LIST: {
        if (!def->choices || !value) return SL_OK;
        const char *p = value;
        for (;;) {
            while (*p == ' ') p++;
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            while (n > 0 && p[n - 1] == ' ') n--;
            if (n > 0 && !in_choices(def->choices, p, n)) {
                errf(err, err_size, "Invalid value %.*s in list; each must be one of: %s", (int)n,
                     p, def->choices);
                return SL_E_CONFIG;
            }
            if (!comma) break;
            p = comma + 1;
        }
        return SL_OK;
    }
    }
    return SL_E_CONFIG;
}

static void store(const sl_cfg_def *def, void *cfg, const char *value) {
    if (def->offset == SIZE_MAX) return;
    char *field = (char *)cfg + def->offset;
    int64_t v = 0;
    switch (def->type) {
    case SL_CFG_INT:
        parse_i64(value, &v);
        *(int32_t *)field = (int32_t)v;
        break;
    case SL_CFG_LONG:
        parse_i64(value, &v);
        *(int64_t *)field = v;
        break;
    case SL_CFG_BOOL:
        *(bool *)field = strcasecmp(value, "true") == 0;
        break;
    case SL_CFG_DOUBLE:
        *(double *)field = strtod(value, NULL);
        break;
    case SL_CFG_STRING:
    case SL_CFG_LIST:
        sl_free(*(char **)field);
        *(char **)field = value ? sl_strdup(value) : NULL;
        break;
    }
}

int sl_config_set(const sl_cfg_table *table, void *cfg, const char *key, const char *value,
                  char *err, size_t err_size) {
    const sl_cfg_def *def = sl_config_find(table, key);
    if (!def) {
        errf(err, err_size, "Unknown %s configuration %s", table->name, key);
        return SL_E_NOT_FOUND;
    }
    char why[256];
    if (sl_config_check(def, value, why, sizeof(why)) < 0) {
        errf(err, err_size, "Invalid value %s for configuration %s: %s", value ? value : "null",
             key, why);
        return SL_E_CONFIG;
    }
    store(def, cfg, value);
    return SL_OK;
}

void sl_config_defaults(const sl_cfg_table *table, void *cfg) {
    for (size_t i = 0; i < table->count; i++) {
        const sl_cfg_def *def = &table->defs[i];
        if (def->default_value || def->type == SL_CFG_STRING || def->type == SL_CFG_LIST) {
            store(def, cfg, def->default_value);
        }
    }
}

int sl_config_apply(const sl_cfg_table *table, void *cfg, const sl_props *props, char *err,
                    size_t err_size) {
    for (size_t i = 0; i < props->count; i++) {
        const sl_prop *p = &props->items[i];
        int rc = sl_config_set(table, cfg, p->key, p->value, err, err_size);
        if (rc == SL_E_NOT_FOUND) {
            SL_LOG(SL_WARN, "config", "unknown_key", "table=%s key=%s line=%d", table->name,
                   p->key, p->line);
            continue;
        }
        if (rc < 0) return rc;
    }
    return SL_OK;
}

void sl_config_format(const sl_cfg_def *def, const void *cfg, sl_buf *out) {
    if (def->offset == SIZE_MAX) return;
    if (def->flags & SL_CFG_SECRET) {
        sl_buf_put_cstr(out, "[hidden]");
        return;
    }
    const char *field = (const char *)cfg + def->offset;
    switch (def->type) {
    case SL_CFG_INT:
        sl_buf_printf(out, "%d", *(const int32_t *)field);
        break;
    case SL_CFG_LONG:
        sl_buf_printf(out, "%lld", (long long)*(const int64_t *)field);
        break;
    case SL_CFG_BOOL:
        sl_buf_put_cstr(out, *(const bool *)field ? "true" : "false");
        break;
    case SL_CFG_DOUBLE:
        sl_buf_printf(out, "%g", *(const double *)field);
        break;
    case SL_CFG_STRING:
    case SL_CFG_LIST: {
        const char *s = *(char *const *)field;
        sl_buf_put_cstr(out, s ? s : "null");
        break;
    }
    }
}

void sl_config_print(const sl_cfg_table *table, const void *cfg, FILE *f) {
    sl_buf line;
    sl_buf_init(&line);
    for (size_t i = 0; i < table->count; i++) {
        const sl_cfg_def *def = &table->defs[i];
        if (def->offset == SIZE_MAX) continue;
        sl_buf_reset(&line);
        sl_buf_printf(&line, "%s=", def->name);
        sl_config_format(def, cfg, &line);
        fprintf(f, "%.*s\n", (int)line.len, (const char *)line.data);
    }
    sl_buf_deinit(&line);
}

void sl_config_free(const sl_cfg_table *table, void *cfg) {
    for (size_t i = 0; i < table->count; i++) {
        const sl_cfg_def *def = &table->defs[i];
        if (def->offset == SIZE_MAX) continue;
        if (def->type == SL_CFG_STRING || def->type == SL_CFG_LIST) {
            char **field = (char **)((char *)cfg + def->offset);
            sl_free(*field);
            *field = NULL;
        }
    }
}

/* ---------------- command line ---------------- */

int sl_cli_parse(sl_cli *cli, int argc, char **argv, char *err, size_t err_size) {
    cli->config_path = NULL;
    cli->print_config = false;
    cli->help = false;
    sl_props_init(&cli->overrides);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) {
            if (i + 1 >= argc) {
                errf(err, err_size, "%s needs a file name", a);
                return SL_E_INVALID;
            }
            cli->config_path = argv[++i];
        } else if (strcmp(a, "--override") == 0) {
            if (i + 1 >= argc) {
                errf(err, err_size, "--override needs key=value");
                return SL_E_INVALID;
            }
            const char *kv = argv[++i];
            const char *eq = strchr(kv, '=');
            if (!eq || eq == kv) {
                errf(err, err_size, "--override expects key=value, got '%s'", kv);
                return SL_E_INVALID;
            }
            char *key = sl_strndup(kv, (size_t)(eq - kv));
            sl_props_set(&cli->overrides, key, eq + 1);
            sl_free(key);
        } else if (strcmp(a, "--print-config") == 0) {
            cli->print_config = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli->help = true;
        } else if (!cli->config_path && a[0] != '-') {
            cli->config_path = a; /* Kafka style: the properties file as a positional arg */
        } else {
            errf(err, err_size, "unknown argument '%s'", a);
            return SL_E_INVALID;
        }
    }
    return SL_OK;
}

void sl_cli_deinit(sl_cli *cli) {
    sl_props_deinit(&cli->overrides);
}

int sl_cli_props(const sl_cli *cli, sl_props *props, char *err, size_t err_size) {
    if (cli->config_path) SL_TRY(sl_props_load(props, cli->config_path, err, err_size));
    sl_props_copy(props, &cli->overrides);
    return SL_OK;
}

int sl_config_load(const sl_cfg_table *table, void *cfg, const sl_cli *cli, char *err,
                   size_t err_size) {
    sl_config_defaults(table, cfg);
    sl_props file;
    sl_props_init(&file);
    int rc = SL_OK;
    if (cli->config_path) {
        rc = sl_props_load(&file, cli->config_path, err, err_size);
        if (rc < 0) goto out;
        rc = sl_config_apply(table, cfg, &file, err, err_size);
        if (rc < 0) goto out;
    }
    rc = sl_config_apply(table, cfg, &cli->overrides, err, err_size);
    if (rc < 0) goto out;
    for (size_t i = 0; i < table->count; i++) {
        const sl_cfg_def *def = &table->defs[i];
        if (!(def->flags & SL_CFG_REQUIRED)) continue;
        if (!sl_props_get(&file, def->name) && !sl_props_get(&cli->overrides, def->name)) {
            errf(err, err_size, "Missing required configuration %s: %s", def->name, def->doc);
            rc = SL_E_CONFIG;
            goto out;
        }
    }
out:
    sl_props_deinit(&file);
    return rc;
}
