/* The JSON side of the Linux runner (tinyforge_eim.c): cutting messages out of the byte stream,
 * reading one request, and writing answers. Hand-written, host only (not compiled into MCU builds).
 *
 * A request is one JSON object, e.g. {"id": 3, "classify": [0.1, -2, ...]}; the clients of Edge
 * Impulse's runner send them back to back, with or without a newline between them. */
#ifndef TINYFORGE_EIM_JSON_H
#define TINYFORGE_EIM_JSON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where the first complete top-level object in buf[0..len) lies: returns 1 and sets *start (its '{')
 * and *end (one past its '}'), 0 while it is incomplete. Bytes before the first '{' are not JSON
 * (newlines, the NUL that ends an answer) and are skipped; braces inside strings do not count. */
int tinyforge_json_find_object(const char *buf, size_t len, size_t *start, size_t *end);

typedef enum {
    TINYFORGE_REQ_NONE = 0,               /* no known command in the message */
    TINYFORGE_REQ_HELLO,                  /* {"hello": 1} */
    TINYFORGE_REQ_CLASSIFY,               /* {"classify": [numbers]} */
    TINYFORGE_REQ_CLASSIFY_CONTINUOUS,    /* {"classify_continuous": [numbers]} */
    TINYFORGE_REQ_CLASSIFY_SHM,           /* {"classify_shm": {"elements": n}} */
    TINYFORGE_REQ_CLASSIFY_CONTINUOUS_SHM,
    TINYFORGE_REQ_SET_THRESHOLD,          /* {"set_threshold": {...}} */
    TINYFORGE_REQ_SET_PARAMETER           /* {"set_parameter": {...}} (the Node SDK) */
} tinyforge_request_kind_t;

typedef struct {
    tinyforge_request_kind_t kind;
    int has_id;
    long id;
    double hello;          /* the value of "hello" */
    float *values;         /* the caller's buffer for classify arrays ... */
    size_t capacity;       /* ... of this many floats */
    size_t count;          /* numbers in the array (more than capacity are counted, not stored) */
    long bad_index;        /* first element that is not a finite number, -1 when all are */
    long elements;         /* "elements" of a *_shm request, -1 when missing */
    char unknown_key[48];  /* the first key that is no command, for the error message */
} tinyforge_request_t;

/* Read the object in text[0..len) into *req (values go to req->values, up to req->capacity).
 * Returns 0, or -1 with a reason in error[0..error_size) when the text is not the JSON object of a
 * request (syntax error, two commands in one message, "id" that is not an integer). req->has_id is
 * set as soon as the id has been read, so even a refused message can be answered with its id. */
int tinyforge_json_read_request(const char *text, size_t len, tinyforge_request_t *req, char *error,
                                size_t error_size);

/* A growing output buffer for answers. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int failed; /* out of memory: the answer is incomplete */
} tinyforge_out_t;

void tinyforge_out_raw(tinyforge_out_t *out, const char *text);
void tinyforge_out_printf(tinyforge_out_t *out, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* a JSON string: quotes, escapes; braces as \u007b / \u007d because the runner clients find the end
 * of a message by counting braces, also inside strings */
void tinyforge_out_string(tinyforge_out_t *out, const char *text);
/* a float32 value with the digits to read it back exactly; null when it is not finite */
void tinyforge_out_float(tinyforge_out_t *out, float value);
void tinyforge_out_free(tinyforge_out_t *out);

#ifdef __cplusplus
}
#endif

#endif /* TINYFORGE_EIM_JSON_H */
