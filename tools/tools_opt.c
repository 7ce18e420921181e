/* tools_opt.c — Kafka-style long options for the sluice tools, and their usage text.
 *
 * Accepted forms: `--name value`, `--name=value`, flags `--name`, list options
 * `--name v1 v2 …` (values up to the next argument starting with "--"; repeating the option
 * adds values; `--name=v` adds one), `-h`/`--help`, and a bare `--` after which arguments
 * are left unparsed in rest_argv. Values beginning with a single '-' ("-1") are values.
 * A unique prefix of an option name is that option (joptsimple's abbreviations), and an
 * option flagged TOOLS_OPT_OPTIONAL_ARG may appear without its value.
 * Messages follow Kafka's tools (joptsimple wording), so scripts and people see the same
 * errors from both. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define USAGE_LEFT_COLS  40  /* width of the "Option" column */
#define USAGE_TOTAL_COLS 100 /* the project's line width */
#define OPT_NAME_MAX     64  /* longest option name shown in messages */

static void opt_errf(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void opt_errf(char *err, size_t err_size, const char *fmt, ...) {
    if (!err || err_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

static const tools_opt_def *
opt_find(const tools_opts *o, const char *name, size_t name_len, size_t *index_out) {
    for (size_t i = 0; i < o->count; i++) {
        const char *n = o->defs[i].name;
        if (strlen(n) == name_len && memcmp(n, name, name_len) == 0) {
            *index_out = i;
            return &o->defs[i];
        }
    }
    return NULL;
}

/* An exact name, else a unique prefix of one name, as joptsimple accepts abbreviations
 * (`--print-metric` for `--print-metrics`). An ambiguous prefix matches nothing. */
static const tools_opt_def *
opt_find_abbrev(const tools_opts *o, const char *name, size_t name_len, size_t *index_out) {
    const tools_opt_def *def = opt_find(o, name, name_len, index_out);
    if (def || name_len == 0) return def;
    size_t found = o->count;
    for (size_t i = 0; i < o->count; i++) {
        if (strncmp(o->defs[i].name, name, name_len) != 0) continue;
        if (found != o->count) return NULL;
        found = i;
    }
    if (found == o->count) return NULL;
    *index_out = found;
    return &o->defs[found];
}

/* Parse text into v according to def's type. */
static int opt_convert(
    const tools_opt_def *def, tools_opt_value *v, const char *text, char *err, size_t err_size) {
    char *end = NULL;
    errno = 0;
    if (def->type == TOOLS_OPT_INT) {
        long long n = strtoll(text, &end, 10);
        if (end == text || *end != '\0' || errno == ERANGE) {
            opt_errf(err, err_size, "Cannot parse argument '%s' of option %s", text, def->name);
            return SL_E_INVALID;
        }
        v->i = (int64_t)n;
    } else if (def->type == TOOLS_OPT_DOUBLE) {
        double d = strtod(text, &end);
        if (end == text || *end != '\0' || errno == ERANGE || !isfinite(d)) {
            opt_errf(err, err_size, "Cannot parse argument '%s' of option %s", text, def->name);
            return SL_E_INVALID;
        }
        v->d = d;
    }
    v->text = text;
    return SL_OK;
}

static void opt_list_add(tools_opt_value *v, const char *text) {
    v->list = sl_realloc(v->list, (v->list_count + 1) * sizeof(*v->list));
    v->list[v->list_count++] = text;
    v->text = text;
}

static bool arg_is_option(const char *arg) {
    return arg[0] == '-' && arg[1] == '-' && arg[2] != '\0';
}

/* Consume the value(s) of def starting at argv[*i + 1]; inline is the "=value" part or
 * NULL. Advances *i past what it used. */
static int opt_take_values(const tools_opt_def *def,
                           tools_opt_value *v,
                           const char *inline_value,
                           int argc,
                           char **argv,
                           int *i,
                           char *err,
                           size_t err_size) {
    if (def->type == TOOLS_OPT_FLAG) {
        if (inline_value) {
            opt_errf(err, err_size, "Option %s does not take an argument", def->name);
            return SL_E_INVALID;
        }
        return SL_OK;
    }
    if (inline_value) {
        if (def->type == TOOLS_OPT_LIST) {
            opt_list_add(v, inline_value);
            return SL_OK;
        }
        return opt_convert(def, v, inline_value, err, err_size);
    }
    if (*i + 1 >= argc || arg_is_option(argv[*i + 1]) || strcmp(argv[*i + 1], "--") == 0) {
        if (def->flags & TOOLS_OPT_OPTIONAL_ARG) return SL_OK; /* present, no value */
        opt_errf(err, err_size, "Option %s requires an argument", def->name);
        return SL_E_INVALID;
    }
    if (def->type != TOOLS_OPT_LIST) {
        *i += 1;
        return opt_convert(def, v, argv[*i], err, err_size);
    }
    while (*i + 1 < argc && !arg_is_option(argv[*i + 1]) && strcmp(argv[*i + 1], "--") != 0) {
        *i += 1;
        opt_list_add(v, argv[*i]);
    }
    return SL_OK;
}

/* One argument (and the values it consumes). */
static int opt_parse_one(tools_opts *o, int argc, char **argv, int *i, char *err, size_t err_size) {
    const char *arg = argv[*i];
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        o->help = true;
        return SL_OK;
    }
    if (!arg_is_option(arg)) {
        /* A command that takes positional arguments has an option named "". */
        size_t index = 0;
        const tools_opt_def *pos = opt_find(o, "", 0, &index);
        if (pos && pos->type == TOOLS_OPT_LIST) {
            o->values[index].present = true;
            opt_list_add(&o->values[index], arg);
            return SL_OK;
        }
        opt_errf(err, err_size, "Found non-option argument: %s", arg);
        return SL_E_INVALID;
    }
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
    size_t index = 0;
    const tools_opt_def *def = name_len ? opt_find_abbrev(o, name, name_len, &index) : NULL;
    if (!def) {
        int shown = name_len > OPT_NAME_MAX ? OPT_NAME_MAX : (int)name_len;
        opt_errf(err, err_size, "%.*s is not a recognized option", shown, name);
        return SL_E_INVALID;
    }
    tools_opt_value *v = &o->values[index];
    v->present = true;
    return opt_take_values(def, v, eq ? eq + 1 : NULL, argc, argv, i, err, err_size);
}

/* Defaults for absent options, then required checks. */
static int opt_finish(tools_opts *o, char *err, size_t err_size) {
    for (size_t k = 0; k < o->count; k++) {
        const tools_opt_def *def = &o->defs[k];
        tools_opt_value *v = &o->values[k];
        if (v->present || !def->default_text) continue;
        SL_ASSERT(def->type != TOOLS_OPT_LIST && def->type != TOOLS_OPT_FLAG);
        int rc = opt_convert(def, v, def->default_text, NULL, 0);
        SL_ASSERT(rc == SL_OK); /* defaults are constants in the command's table */
    }
    if (o->help) return SL_OK;
    for (size_t k = 0; k < o->count; k++) {
        if ((o->defs[k].flags & TOOLS_OPT_REQUIRED) && !o->values[k].present) {
            opt_errf(err, err_size, "Missing required argument \"[%s]\"", o->defs[k].name);
            return SL_E_INVALID;
        }
    }
    return SL_OK;
}

int tools_opts_parse(tools_opts *o,
                     const tools_opt_def *defs,
                     size_t count,
                     int argc,
                     char **argv,
                     char *err,
                     size_t err_size) {
    memset(o, 0, sizeof(*o));
    o->defs = defs;
    o->count = count;
    o->values = sl_calloc(count ? count : 1, sizeof(*o->values));
    if (err && err_size) err[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            o->rest_argc = argc - i - 1;
            o->rest_argv = argv + i + 1;
            break;
        }
        SL_TRY(opt_parse_one(o, argc, argv, &i, err, err_size));
    }
    return opt_finish(o, err, err_size);
}

void tools_opts_deinit(tools_opts *o) {
    if (!o->values) return;
    for (size_t k = 0; k < o->count; k++) {
        sl_free(o->values[k].list);
    }
    sl_free(o->values);
    o->values = NULL;
}

const tools_opt_value *tools_opts_get(const tools_opts *o, const char *name) {
    size_t index = 0;
    const tools_opt_def *def = opt_find(o, name, strlen(name), &index);
    SL_ASSERT(def != NULL); /* a command asked for an option its table does not have */
    return &o->values[index];
}

bool tools_opts_has(const tools_opts *o, const char *name) {
    return tools_opts_get(o, name)->present;
}

const char *tools_opts_str(const tools_opts *o, const char *name) {
    return tools_opts_get(o, name)->text;
}

int64_t tools_opts_int(const tools_opts *o, const char *name) {
    return tools_opts_get(o, name)->i;
}

double tools_opts_double(const tools_opts *o, const char *name) {
    return tools_opts_get(o, name)->d;
}

/* ---- usage ---- */

/* Print text wrapped to fit after a left column of `indent` columns; the first line
 * continues the current one (already at column `col`). */
static void usage_wrap(FILE *f, const char *text, int indent, int col) {
    int width = USAGE_TOTAL_COLS - indent;
    const char *p = text;
    int used = col - indent;
    for (int guard = 0; *p && guard < 10000; guard++) {
        while (*p == ' ')
            p++;
        size_t word = strcspn(p, " ");
        if (word == 0) break;
        if (used > 0 && used + 1 + (int)word > width) {
            fprintf(f, "\n%*s", indent, "");
            used = 0;
        } else if (used > 0) {
            fputc(' ', f);
            used++;
        }
        fwrite(p, 1, word, f);
        used += (int)word;
        p += word;
    }
    fputc('\n', f);
}

static const char *opt_type_word(tools_opt_type type) {
    switch (type) {
    case TOOLS_OPT_INT:
        return "Long";
    case TOOLS_OPT_DOUBLE:
        return "Double";
    case TOOLS_OPT_LIST:
    case TOOLS_OPT_STRING:
        return "String";
    case TOOLS_OPT_FLAG:
        return "";
    }
    return "";
}

static void usage_option(FILE *f, const tools_opt_def *def) {
    char left[160];
    if (def->type == TOOLS_OPT_FLAG) {
        snprintf(left, sizeof(left), "--%s", def->name);
    } else {
        bool optional = (def->flags & TOOLS_OPT_OPTIONAL_ARG) != 0;
        snprintf(left, sizeof(left), "--%s %s%s: %s%s%s", def->name, optional ? "[" : "<",
                 opt_type_word(def->type), def->metavar ? def->metavar : "value",
                 def->type == TOOLS_OPT_LIST ? " ..." : "", optional ? "]" : ">");
    }
    int col = fprintf(f, "%s", left);
    if (col >= USAGE_LEFT_COLS) {
        fprintf(f, "\n%*s", USAGE_LEFT_COLS, "");
    } else {
        fprintf(f, "%*s", USAGE_LEFT_COLS - col, "");
    }
    char help[1024];
    snprintf(help, sizeof(help), "%s%s%s%s%s",
             (def->flags & TOOLS_OPT_REQUIRED) ? "REQUIRED: " : "", def->help ? def->help : "",
             def->default_text ? " (default: " : "", def->default_text ? def->default_text : "",
             def->default_text ? ")" : "");
    usage_wrap(f, help, USAGE_LEFT_COLS, USAGE_LEFT_COLS);
}

void tools_usage_print(const tools_command *cmd, FILE *f) {
    fprintf(f, "Usage: sluice %s [options]\n", cmd->name);
    if (cmd->description) {
        fputc('\n', f);
        usage_wrap(f, cmd->description, 0, 0);
    }
    fprintf(f, "\n%-*s%s\n%-*s%s\n", USAGE_LEFT_COLS, "Option", "Description", USAGE_LEFT_COLS,
            "------", "-----------");
    for (size_t i = 0; i < cmd->opt_count; i++) {
        if (cmd->opts[i].flags & TOOLS_OPT_HIDDEN) continue;
        usage_option(f, &cmd->opts[i]);
    }
    static const tools_opt_def help_def = { .name = "help",
                                            .type = TOOLS_OPT_FLAG,
                                            .help = "Print usage information." };
    usage_option(f, &help_def);
}

int tools_command_main(const tools_command *cmd, int argc, char **argv) {
    SL_ASSERT(argc >= 1);
    char err[512];
    tools_opts o;
    int rc = tools_opts_parse(&o, cmd->opts, cmd->opt_count, argc - 1, argv + 1, err, sizeof(err));
    int exit_code;
    if (rc != SL_OK) {
        fprintf(stderr, "%s\n", err);
        tools_usage_print(cmd, stderr);
        exit_code = TOOLS_EXIT_FAIL;
    } else if (o.help) {
        tools_usage_print(cmd, stdout);
        exit_code = TOOLS_EXIT_OK;
    } else {
        exit_code = cmd->run(&o);
        if (exit_code == TOOLS_EXIT_USAGE) {
            tools_usage_print(cmd, stderr);
            exit_code = TOOLS_EXIT_FAIL;
        }
    }
    tools_opts_deinit(&o);
    fflush(stdout);
    return exit_code;
}
