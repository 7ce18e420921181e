/* sl_config.h — Java-properties files and a typed configuration registry.
 *
 * A module describes its keys once, in a table of sl_cfg_def (name, type, default,
 * valid range or choices, doc line, offset of the field in its config struct). From
 * that table come defaults, parsing with clear errors, --print-config output, and
 * documentation. Field types: INT → int32_t, LONG → int64_t, BOOL → bool,
 * DOUBLE → double, STRING/LIST → char * (owned by the struct, freed by
 * sl_config_free; NULL when the default is NULL).
 *
 * Rules: unknown keys log a warning and are ignored; an invalid value is an error whose
 * message names the key, the value and why (start-up stops on it). Later sources win:
 * defaults < file < --override key=value. */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include "common/sl_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- properties ---- */

typedef struct sl_prop {
    char *key;   /* owned */
    char *value; /* owned */
    int line;    /* 1-based source line, 0 for overrides */
} sl_prop;

typedef struct sl_props {
    sl_prop *items;
    size_t count;
    size_t cap;
} sl_props;

void sl_props_init(sl_props *props);
void sl_props_deinit(sl_props *props);
/* Parse Java-properties text: '#'/'!' comments, key=value / key:value / key value,
 * backslash line continuation, escapes (\t \n \r \f \\ \uXXXX). Later keys replace
 * earlier ones. Returns SL_OK or SL_E_INVALID with a message in err. */
int sl_props_parse(sl_props *props, const char *text, size_t len, char *err, size_t err_size);
/* Read and parse a file. Returns SL_OK, -errno, or SL_E_INVALID (message in err). */
int sl_props_load(sl_props *props, const char *path, char *err, size_t err_size);
void sl_props_set(sl_props *props, const char *key, const char *value);
/* Remove key; returns true if it was present. */
bool sl_props_remove(sl_props *props, const char *key);
/* Deep copy of src into dst (dst initialised, previous contents kept and overridden). */
void sl_props_copy(sl_props *dst, const sl_props *src);
/* The value for key, or NULL. Valid until the next change to props. */
const char *sl_props_get(const sl_props *props, const char *key);

/* ---- typed registry ---- */

typedef enum sl_cfg_type {
    SL_CFG_INT,
    SL_CFG_LONG,
    SL_CFG_BOOL,
    SL_CFG_DOUBLE,
    SL_CFG_STRING,
    SL_CFG_LIST, /* comma-separated; each element checked against choices if given */
} sl_cfg_type;

#define SL_CFG_SECRET   0x1 /* value never printed */
#define SL_CFG_REQUIRED 0x2 /* must be set (default ignored) */

typedef struct sl_cfg_def {
    const char *name;          /* Kafka's key, e.g. "log.segment.bytes" */
    sl_cfg_type type;
    size_t offset;             /* offsetof(struct, field); SIZE_MAX = validate only */
    const char *default_value; /* text form; NULL = null */
    int64_t min, max;          /* inclusive range for INT/LONG/DOUBLE (min > max: no check) */
    const char *choices;       /* "delete,compact" for STRING/LIST, NULL = any */
    unsigned flags;
    const char *doc;           /* one line */
} sl_cfg_def;

typedef struct sl_cfg_table {
    const char *name; /* "broker", "controller", "topic" — for messages */
    const sl_cfg_def *defs;
    size_t count;
} sl_cfg_table;

const sl_cfg_def *sl_config_find(const sl_cfg_table *table, const char *name);
/* Check a text value against def without storing it. SL_OK or SL_E_CONFIG + err text
 * ("value must be at least 1", …; the caller adds key and value). */
int sl_config_check(const sl_cfg_def *def, const char *value, char *err, size_t err_size);
/* Parse and store value into cfg. On error, err reads
 * "Invalid value VALUE for configuration KEY: WHY". */
int sl_config_set(const sl_cfg_table *table, void *cfg, const char *key, const char *value,
                  char *err, size_t err_size);
/* Store every default into cfg (which must be zeroed or previously freed). */
void sl_config_defaults(const sl_cfg_table *table, void *cfg);
/* Apply all props in order; unknown keys warn. Stops at the first invalid value. */
int sl_config_apply(const sl_cfg_table *table, void *cfg, const sl_props *props, char *err,
                    size_t err_size);
/* Text form of a field's current value (secrets as "[hidden]"). */
void sl_config_format(const sl_cfg_def *def, const void *cfg, sl_buf *out);
/* "key=value" lines for every key, sorted as in the table. */
void sl_config_print(const sl_cfg_table *table, const void *cfg, FILE *f);
void sl_config_free(const sl_cfg_table *table, void *cfg);

/* ---- command line: --config FILE, --override key=value, --print-config ---- */

typedef struct sl_cli {
    const char *config_path; /* borrowed from argv; NULL when absent */
    sl_props overrides;
    bool print_config;
    bool help;
} sl_cli;

/* Parse argv. Returns SL_OK or SL_E_INVALID with a message in err. */
int sl_cli_parse(sl_cli *cli, int argc, char **argv, char *err, size_t err_size);
void sl_cli_deinit(sl_cli *cli);
/* The raw properties the command line names: the file's (if any) then the overrides.
 * props must be initialised. Returns SL_OK or the file's load error (message in err). */
int sl_cli_props(const sl_cli *cli, sl_props *props, char *err, size_t err_size);
/* Defaults, then the file (if any), then the overrides; check REQUIRED keys. */
int sl_config_load(const sl_cfg_table *table, void *cfg, const sl_cli *cli, char *err,
                   size_t err_size);

#endif
