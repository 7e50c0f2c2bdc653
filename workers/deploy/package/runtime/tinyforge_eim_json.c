/* JSON for the Linux runner: message framing, one small reader for requests, an answer writer.
 * See tinyforge_eim_json.h. Strict JSON (RFC 8259) except that NaN / Infinity / -Infinity (which
 * Python's json module writes for such floats) are read as values that are not finite, so the
 * runner can name the element instead of reporting a syntax error. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyforge_eim_json.h"

#define MAX_DEPTH 64
#define MAX_NUMBER_CHARS 64

int tinyforge_json_find_object(const char *buf, size_t len, size_t *start, size_t *end)
{
    size_t i = 0, depth = 0;
    int in_string = 0, escaped = 0;
    while (i < len && buf[i] != '{') i++;
    *start = i;
    for (; i < len; i++) {
        const char c = buf[i];
        if (in_string) {
            if (escaped) escaped = 0;
            else if (c == '\\') escaped = 1;
            else if (c == '"') in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{') {
            depth++;
        } else if (c == '}' && --depth == 0) {
            *end = i + 1;
            return 1;
        }
    }
    return 0;
}

/* ---- reader ------------------------------------------------------------------------------------ */

typedef struct {
    const char *begin, *p, *end;
    char *error;
    size_t error_size;
    int failed;
} reader_t;

static int fail(reader_t *r, const char *what)
{
    if (!r->failed) {
        snprintf(r->error, r->error_size, "not a valid request: %s at byte %ld", what,
                 (long)(r->p - r->begin));
        r->failed = 1;
    }
    return -1;
}

static void skip_ws(reader_t *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int peek(reader_t *r)
{
    skip_ws(r);
    return r->p < r->end ? (unsigned char)*r->p : -1;
}

static int expect(reader_t *r, char c, const char *what)
{
    if (peek(r) != (unsigned char)c) return fail(r, what);
    r->p++;
    return 0;
}

static int literal(reader_t *r, const char *word)
{
    const size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return 0;
    r->p += n;
    return 1;
}

/* A string; its first out_size - 1 bytes (escapes decoded, \u to '?' outside ASCII) go to out. */
static int read_string(reader_t *r, char *out, size_t out_size)
{
    size_t n = 0;
    if (expect(r, '"', "expected a string") != 0) return -1;
    while (r->p < r->end) {
        char c = *r->p++;
        if (c == '"') {
            if (out_size) out[n < out_size ? n : out_size - 1] = '\0';
            return 0;
        }
        if ((unsigned char)c < 0x20) return fail(r, "control character in a string");
        if (c == '\\') {
            if (r->p >= r->end) break;
            c = *r->p++;
            switch (c) {
            case '"': case '\\': case '/': break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                int k;
                unsigned code = 0;
                if (r->end - r->p < 4) return fail(r, "short \\u escape");
                for (k = 0; k < 4; k++) {
                    const char h = *r->p++;
                    code <<= 4;
                    if (h >= '0' && h <= '9') code |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f') code |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') code |= (unsigned)(h - 'A' + 10);
                    else return fail(r, "bad \\u escape");
                }
                c = code < 0x80 ? (char)code : '?';
                break;
            }
            default:
                return fail(r, "bad escape in a string");
            }
        }
        if (out_size && n + 1 < out_size) out[n] = c;
        n++;
    }
    return fail(r, "unterminated string");
}

/* A JSON number, checked against the grammar before strtod reads it (strtod alone also takes hex,
 * "inf", leading '+' and would read past the message). */
static int read_number(reader_t *r, double *value)
{
    const char *s;
    char text[MAX_NUMBER_CHARS + 1];
    size_t n;
    skip_ws(r);
    s = r->p;
    if (r->p < r->end && *r->p == '-') r->p++;
    if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail(r, "expected a number");
    if (*r->p == '0') r->p++;
    else while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail(r, "expected digits after '.'");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail(r, "expected an exponent");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    }
    n = (size_t)(r->p - s);
    if (n > MAX_NUMBER_CHARS) return fail(r, "number with too many digits");
    memcpy(text, s, n);
    text[n] = '\0';
    *value = strtod(text, NULL);
    return 0;
}

static int skip_value(reader_t *r, int depth);

static int skip_container(reader_t *r, char close, int depth)
{
    r->p++;
    if (peek(r) == (unsigned char)close) {
        r->p++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (read_string(r, NULL, 0) != 0 || expect(r, ':', "expected ':'") != 0) return -1;
        }
        if (skip_value(r, depth + 1) != 0) return -1;
        if (peek(r) == ',') {
            r->p++;
            continue;
        }
        return expect(r, close, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int skip_value(reader_t *r, int depth)
{
    double ignored;
    const int c = peek(r);
    if (depth > MAX_DEPTH) return fail(r, "nested too deeply");
    if (c == '{') return skip_container(r, '}', depth);
    if (c == '[') return skip_container(r, ']', depth);
    if (c == '"') return read_string(r, NULL, 0);
    if (literal(r, "true") || literal(r, "false") || literal(r, "null")) return 0;
    return read_number(r, &ignored);
}

/* One element of a classify array: 1 when it is a finite number (in *value), 0 when it is another
 * value (NaN, Infinity, a string, null, ...), -1 on a syntax error. */
static int read_element(reader_t *r, double *value)
{
    const int c = peek(r);
    if (c == '-' || (c >= '0' && c <= '9')) {
        if (literal(r, "-Infinity")) return 0;
        if (read_number(r, value) != 0) return -1;
        return isfinite(*value) && isfinite((float)*value) ? 1 : 0;
    }
    if (literal(r, "NaN") || literal(r, "Infinity")) return 0;
    return skip_value(r, 1) == 0 ? 0 : -1;
}

static int read_values(reader_t *r, tinyforge_request_t *req, const char *key)
{
    char what[96];
    if (peek(r) != '[') {
        snprintf(what, sizeof what, "\"%s\" must be an array of numbers", key);
        return fail(r, what);
    }
    r->p++;
    if (peek(r) == ']') {
        r->p++;
        return 0;
    }
    for (;;) {
        double v = 0.0;
        const int ok = read_element(r, &v);
        if (ok < 0) return -1;
        if (!ok && req->bad_index < 0) req->bad_index = (long)req->count;
        if (req->count < req->capacity) req->values[req->count] = ok ? (float)v : 0.0f;
        req->count++;
        if (peek(r) == ',') {
            r->p++;
            continue;
        }
        return expect(r, ']', "expected ',' or ']' in the array");
    }
}

static int read_integer(reader_t *r, long *out, const char *what)
{
    double v;
    if (read_number(r, &v) != 0) return -1;
    if (!(v == floor(v)) || v < -2147483648.0 || v > 2147483647.0) return fail(r, what);
    *out = (long)v;
    return 0;
}

/* {"elements": n} of a *_shm request */
static int read_shm(reader_t *r, tinyforge_request_t *req)
{
    char key[32];
    if (expect(r, '{', "a *_shm command takes an object {\"elements\": n}") != 0) return -1;
    if (peek(r) == '}') {
        r->p++;
        return 0;
    }
    for (;;) {
        if (read_string(r, key, sizeof key) != 0 || expect(r, ':', "expected ':'") != 0) return -1;
        if (strcmp(key, "elements") == 0) {
            if (read_integer(r, &req->elements, "\"elements\" must be a whole number") != 0) return -1;
        } else if (skip_value(r, 1) != 0) {
            return -1;
        }
        if (peek(r) == ',') {
            r->p++;
            continue;
        }
        return expect(r, '}', "expected ',' or '}'");
    }
}

static const struct {
    const char *key;
    tinyforge_request_kind_t kind;
} COMMANDS[] = {
    {"hello", TINYFORGE_REQ_HELLO},
    {"classify", TINYFORGE_REQ_CLASSIFY},
    {"classify_continuous", TINYFORGE_REQ_CLASSIFY_CONTINUOUS},
    {"classify_shm", TINYFORGE_REQ_CLASSIFY_SHM},
    {"classify_continuous_shm", TINYFORGE_REQ_CLASSIFY_CONTINUOUS_SHM},
    {"set_threshold", TINYFORGE_REQ_SET_THRESHOLD},
    {"set_parameter", TINYFORGE_REQ_SET_PARAMETER},
};

static tinyforge_request_kind_t command_kind(const char *key)
{
    size_t i;
    for (i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (strcmp(key, COMMANDS[i].key) == 0) return COMMANDS[i].kind;
    }
    return TINYFORGE_REQ_NONE;
}

static int read_member(reader_t *r, tinyforge_request_t *req, const char *key)
{
    const tinyforge_request_kind_t kind = command_kind(key);
    int c;
    if (strcmp(key, "id") == 0) {
        if (read_integer(r, &req->id, "\"id\" must be an integer") != 0) return -1;
        req->has_id = 1;
        return 0;
    }
    if (kind == TINYFORGE_REQ_NONE) {
        if (strcmp(key, "debug") != 0 && req->unknown_key[0] == '\0') {
            snprintf(req->unknown_key, sizeof req->unknown_key, "%s", key);
        }
        return skip_value(r, 1);
    }
    if (req->kind != TINYFORGE_REQ_NONE) return fail(r, "more than one command in one message");
    req->kind = kind;
    switch (kind) {
    case TINYFORGE_REQ_HELLO:
        c = peek(r);
        if (c == '-' || (c >= '0' && c <= '9')) return read_number(r, &req->hello);
        req->hello = -1.0;
        return skip_value(r, 1);
    case TINYFORGE_REQ_CLASSIFY:
    case TINYFORGE_REQ_CLASSIFY_CONTINUOUS:
        return read_values(r, req, key);
    case TINYFORGE_REQ_CLASSIFY_SHM:
    case TINYFORGE_REQ_CLASSIFY_CONTINUOUS_SHM:
        return read_shm(r, req);
    default: /* set_threshold, set_parameter: answered without reading what they set */
        return skip_value(r, 1);
    }
}

int tinyforge_json_read_request(const char *text, size_t len, tinyforge_request_t *req, char *error,
                                size_t error_size)
{
    reader_t r;
    char key[48];
    r.begin = r.p = text;
    r.end = text + len;
    r.error = error;
    r.error_size = error_size;
    r.failed = 0;
    req->kind = TINYFORGE_REQ_NONE;
    req->has_id = 0;
    req->id = 0;
    req->hello = 0.0;
    req->count = 0;
    req->bad_index = -1;
    req->elements = -1;
    req->unknown_key[0] = '\0';
    if (error_size) error[0] = '\0';
    if (expect(&r, '{', "expected '{'") != 0) return -1;
    if (peek(&r) == '}') {
        r.p++;
    } else {
        for (;;) {
            if (read_string(&r, key, sizeof key) != 0 || expect(&r, ':', "expected ':'") != 0) return -1;
            if (read_member(&r, req, key) != 0) return -1;
            if (peek(&r) == ',') {
                r.p++;
                continue;
            }
            if (expect(&r, '}', "expected ',' or '}'") != 0) return -1;
            break;
        }
    }
    if (peek(&r) != -1) return fail(&r, "text after the object");
    return 0;
}

/* ---- writer ------------------------------------------------------------------------------------ */

static int reserve(tinyforge_out_t *out, size_t more)
{
    size_t cap;
    char *grown;
    if (out->failed) return -1;
    if (out->len + more + 1 <= out->cap) return 0;
    cap = out->cap ? out->cap : 1024;
    while (cap < out->len + more + 1) cap *= 2;
    grown = (char *)realloc(out->data, cap);
    if (grown == NULL) {
        out->failed = 1;
        return -1;
    }
    out->data = grown;
    out->cap = cap;
    return 0;
}

void tinyforge_out_raw(tinyforge_out_t *out, const char *text)
{
    const size_t n = strlen(text);
    if (reserve(out, n) != 0) return;
    memcpy(out->data + out->len, text, n + 1);
    out->len += n;
}

void tinyforge_out_printf(tinyforge_out_t *out, const char *format, ...)
{
    va_list args;
    int n;
    va_start(args, format);
    n = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (n < 0 || reserve(out, (size_t)n) != 0) return;
    va_start(args, format);
    vsnprintf(out->data + out->len, (size_t)n + 1, format, args);
    va_end(args);
    out->len += (size_t)n;
}

void tinyforge_out_string(tinyforge_out_t *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    tinyforge_out_raw(out, "\"");
    for (; *s; s++) {
        if (*s == '"') tinyforge_out_raw(out, "\\\"");
        else if (*s == '\\') tinyforge_out_raw(out, "\\\\");
        else if (*s < 0x20 || *s == '{' || *s == '}') tinyforge_out_printf(out, "\\u%04x", (unsigned)*s);
        else {
            const char c[2] = {(char)*s, '\0'};
            tinyforge_out_raw(out, c);
        }
    }
    tinyforge_out_raw(out, "\"");
}

void tinyforge_out_float(tinyforge_out_t *out, float value)
{
    if (!isfinite(value)) tinyforge_out_raw(out, "null");
    else tinyforge_out_printf(out, "%.9g", (double)value);
}

void tinyforge_out_free(tinyforge_out_t *out)
{
    free(out->data);
    out->data = NULL;
    out->len = out->cap = 0;
    out->failed = 0;
}
