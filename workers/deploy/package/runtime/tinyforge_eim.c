/* The impulse as a Linux runner: an executable (".eim") that speaks the JSON protocol of Edge
 * Impulse's Linux runners, so their SDKs (edge-impulse-linux for Python and Node, ...) run a
 * Tinyforge impulse unchanged. Hand-written, host only (POSIX); not part of the MCU library.
 *
 *   model.eim SOCKET_PATH   listen on a Unix socket, serve one client until it disconnects
 *   model.eim stdin         the same messages on stdin, answers on stdout (one per line)
 *   model.eim --print-info  print the hello answer and exit
 *
 * Requests are JSON objects with an integer "id"; every answer carries that id and "success":
 *   {"hello": 1}                              -> the model parameters (and a shared-memory block)
 *   {"classify": [window]}                    -> {"result": {"classification": {label: score},
 *                                                 "anomaly": score}, "timing": {...}}
 *   {"classify_continuous": [slice]}          -> the same for the latest window (sliding by slices)
 *   {"classify_shm": {"elements": n}},
 *   {"classify_continuous_shm": {"elements": n}}  the same, the numbers read from shared memory
 * On the socket every answer ends with "\n" and a NUL byte (the Python client reads up to the NUL).
 * Images take one number per pixel, 0xRRGGBB, as Edge Impulse's image runners send them. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tinyforge_classifier.h"
#include "tinyforge_eim_info.h"
#include "tinyforge_eim_json.h"

#ifdef TINYFORGE_IMAGE_WIDTH
#define IMAGE 1
#if TINYFORGE_EIM_INPUT_FEATURES != TINYFORGE_IMAGE_WIDTH * TINYFORGE_IMAGE_HEIGHT
#error "an image runner takes one packed value per pixel"
#endif
#else
#define IMAGE 0
#if TINYFORGE_EIM_INPUT_FEATURES != TINYFORGE_SIGNAL_FLOATS
#error "the runner's input is the impulse's window"
#endif
#endif

#define INPUT_FLOATS TINYFORGE_EIM_INPUT_FEATURES
#define SLICE_FLOATS (TINYFORGE_SLICE_SAMPLES * TINYFORGE_AXES)
#define READ_CHUNK 65536u
/* a window of numbers written by any JSON library fits (Python writes up to ~25 characters each) */
#define MAX_MESSAGE_BYTES ((size_t)INPUT_FLOATS * 64u + (1u << 20))

static float request_values[INPUT_FLOATS];
static float window[TINYFORGE_SIGNAL_FLOATS];
#if TINYFORGE_CONTINUOUS
static float history[TINYFORGE_SIGNAL_FLOATS]; /* the latest window of classify_continuous slices */
#endif

static int initialized = 0;
static volatile sig_atomic_t stop_requested = 0;
static sigset_t waiting_mask; /* the signal mask while waiting for input: the stop signals let in */

static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* the socket this process made */

static char shm_name[64];       /* input features in shared memory (empty when there is none) */
static float *shm_values = NULL;
static char shm_error[160];

uint32_t tinyforge_timer_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Wait until fd can be read (or has hung up). The stop signals are blocked everywhere else and let in
 * only while waiting here, so one that comes before a blocking accept/read ends the wait instead of
 * being missed. Returns 0 when fd is ready, -1 when a stop was requested. */
static int wait_readable(int fd)
{
    fd_set ready;
    while (!stop_requested) {
        FD_ZERO(&ready);
        FD_SET(fd, &ready);
        if (pselect(fd + 1, &ready, NULL, NULL, NULL, &waiting_mask) >= 0 || errno != EINTR) return 0;
    }
    return -1;
}

static void unlink_shm(void)
{
    if (shm_name[0]) {
        shm_unlink(shm_name);
        shm_name[0] = '\0';
    }
}

static void cleanup(void)
{
    unlink_shm();
    if (socket_path[0]) {
        unlink(socket_path);
        socket_path[0] = '\0';
    }
}

/* A shared-memory block for the input features, offered in the hello answer. Failing is not fatal:
 * the clients then send the numbers as JSON (and report features_shm_error). */
static void create_shm(void)
{
    const size_t bytes = sizeof(float) * INPUT_FLOATS;
    void *mem;
    int fd;
    snprintf(shm_name, sizeof shm_name, "/tinyforge-eim-%ld-%ld", (long)getpid(), (long)time(NULL));
    fd = shm_open(shm_name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) {
        snprintf(shm_error, sizeof shm_error, "shm_open(%s): %s", shm_name, strerror(errno));
        shm_name[0] = '\0';
        return;
    }
    if (ftruncate(fd, (off_t)bytes) != 0) {
        snprintf(shm_error, sizeof shm_error, "ftruncate(%s): %s", shm_name, strerror(errno));
        close(fd);
        unlink_shm();
        return;
    }
    mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (mem == MAP_FAILED) {
        snprintf(shm_error, sizeof shm_error, "mmap(%s): %s", shm_name, strerror(errno));
        unlink_shm();
        return;
    }
    shm_values = (float *)mem;
}

/* ---- answers ----------------------------------------------------------------------------------- */

static void begin_answer(tinyforge_out_t *out, const tinyforge_request_t *req, int success)
{
    tinyforge_out_raw(out, "{");
    if (req->has_id) tinyforge_out_printf(out, "\"id\":%ld,", req->id);
    tinyforge_out_printf(out, "\"success\":%s", success ? "true" : "false");
}

static void answer_error(tinyforge_out_t *out, const tinyforge_request_t *req, const char *message)
{
    begin_answer(out, req, 0);
    tinyforge_out_raw(out, ",\"error\":");
    tinyforge_out_string(out, message);
    tinyforge_out_raw(out, "}");
}

static void answer_hello(tinyforge_out_t *out, const tinyforge_request_t *req, int offer_shm)
{
    begin_answer(out, req, 1);
    tinyforge_out_raw(out, ",\"project\":" TINYFORGE_EIM_PROJECT_JSON);
    tinyforge_out_raw(out, ",\"model_parameters\":" TINYFORGE_EIM_MODEL_PARAMETERS_JSON);
    tinyforge_out_raw(out, ",\"inferencing_engine\":{\"engine_type\":255,\"properties\":[]}");
    if (offer_shm && shm_values != NULL) {
        tinyforge_out_printf(out, ",\"features_shm\":{\"name\":\"%s\",\"size_bytes\":%lu,"
                             "\"type\":\"float32\",\"elements\":%d}",
                             shm_name, (unsigned long)(sizeof(float) * INPUT_FLOATS), INPUT_FLOATS);
    } else if (offer_shm) {
        tinyforge_out_raw(out, ",\"features_shm_error\":");
        tinyforge_out_string(out, shm_error);
    }
    tinyforge_out_raw(out, "}");
}

static void answer_result(tinyforge_out_t *out, const tinyforge_request_t *req,
                          const tinyforge_result_t *result, uint32_t parse_us)
{
    int i;
    begin_answer(out, req, 1);
    tinyforge_out_raw(out, ",\"result\":{\"classification\":{");
    for (i = 0; i < TINYFORGE_LABEL_COUNT; i++) {
        if (i) tinyforge_out_raw(out, ",");
        tinyforge_out_string(out, result->classification[i].label);
        tinyforge_out_raw(out, ":");
        tinyforge_out_float(out, result->classification[i].value);
    }
    tinyforge_out_raw(out, "}");
#if TINYFORGE_HAS_ANOMALY
    tinyforge_out_raw(out, ",\"anomaly\":");
    tinyforge_out_float(out, result->anomaly);
#endif
    /* whole milliseconds as Edge Impulse's runner reports them, and microseconds */
    tinyforge_out_printf(out, "},\"timing\":{\"dsp\":%lu,\"classification\":%lu,\"anomaly\":%lu,\"json\":%lu,"
                         "\"dsp_us\":%lu,\"classification_us\":%lu,\"anomaly_us\":%lu}}",
                         (unsigned long)(result->dsp_us / 1000u),
                         (unsigned long)(result->classification_us / 1000u),
                         (unsigned long)(result->anomaly_us / 1000u), (unsigned long)(parse_us / 1000u),
                         (unsigned long)result->dsp_us, (unsigned long)result->classification_us,
                         (unsigned long)result->anomaly_us);
}

/* ---- requests ---------------------------------------------------------------------------------- */

/* The request's numbers as a window in the library's layout (images: packed pixels unpacked). */
static int to_window(const float *values, char *error, size_t error_size)
{
#if IMAGE
    int i;
    for (i = 0; i < INPUT_FLOATS; i++) {
        const float v = values[i];
        uint32_t rgb, r, g, b;
        if (!(v >= 0.0f && v <= 16777215.0f) || v != floorf(v)) {
            snprintf(error, error_size, "pixel %d is %.9g: each pixel is one number 0xRRGGBB (0 to 16777215)",
                     i, (double)v);
            return -1;
        }
        rgb = (uint32_t)v;
        r = (rgb >> 16) & 0xffu;
        g = (rgb >> 8) & 0xffu;
        b = rgb & 0xffu;
#if TINYFORGE_AXES == 3
        window[3 * i] = (float)r;
        window[3 * i + 1] = (float)g;
        window[3 * i + 2] = (float)b;
#else
        /* ITU-R BT.601 luma in Pillow's integer arithmetic ("L"), as the platform converts images */
        window[i] = (float)((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
#endif
    }
#else
    (void)error;
    (void)error_size;
    memcpy(window, values, sizeof window);
#endif
    return 0;
}

static void classify(tinyforge_out_t *out, const tinyforge_request_t *req, const float *values, size_t count,
                     int continuous, uint32_t parse_us)
{
    char error[200];
    tinyforge_result_t result;
    const char *name = continuous ? "classify_continuous" : "classify";
    const size_t expected = continuous ? SLICE_FLOATS : INPUT_FLOATS;
    int status;
    if (continuous && IMAGE) {
        answer_error(out, req, "classify_continuous: this impulse classifies whole images; use classify");
        return;
    }
    if (count != expected) {
        const char *what = continuous ? "one slice: slice_size"
                                      : (IMAGE ? "one per pixel" : "one window: input_features_count");
        snprintf(error, sizeof error, "%s: expected %lu values (%s) but got %lu", name,
                 (unsigned long)expected, what, (unsigned long)count);
        answer_error(out, req, error);
        return;
    }
    if (req->bad_index >= 0) {
        snprintf(error, sizeof error, "%s: value %ld is not a finite number", name, req->bad_index);
        answer_error(out, req, error);
        return;
    }
#if TINYFORGE_CONTINUOUS
    if (continuous) {
        /* the window slides by one slice; until the first window is full, the rest of it is zeros */
        memmove(history, history + SLICE_FLOATS, sizeof(float) * (TINYFORGE_SIGNAL_FLOATS - SLICE_FLOATS));
        memcpy(history + (TINYFORGE_SIGNAL_FLOATS - SLICE_FLOATS), values, sizeof(float) * SLICE_FLOATS);
        status = tinyforge_run_classifier(history, &result);
    } else
#endif
    {
        if (to_window(values, error, sizeof error) != 0) {
            answer_error(out, req, error);
            return;
        }
        status = tinyforge_run_classifier(window, &result);
    }
    if (status != 0) {
        snprintf(error, sizeof error, "%s: the impulse failed (error %d)", name, status);
        answer_error(out, req, error);
        return;
    }
    answer_result(out, req, &result, parse_us);
}

static void classify_from_shm(tinyforge_out_t *out, tinyforge_request_t *req, int continuous,
                              uint32_t parse_us)
{
    long i;
    if (shm_values == NULL) {
        answer_error(out, req, "no shared memory was offered: send the numbers in classify / "
                               "classify_continuous");
        return;
    }
    if (req->elements < 0 || req->elements > INPUT_FLOATS) {
        char error[160];
        snprintf(error, sizeof error, "%s: \"elements\" must be 0 to %d (the shared memory's size), got %ld",
                 continuous ? "classify_continuous_shm" : "classify_shm", INPUT_FLOATS, req->elements);
        answer_error(out, req, error);
        return;
    }
    /* the client has mapped the block by now: its name is no longer needed (nothing leaks if we die) */
    unlink_shm();
    req->bad_index = -1;
    for (i = 0; i < req->elements; i++) {
        if (!isfinite(shm_values[i])) {
            req->bad_index = i;
            break;
        }
    }
    classify(out, req, shm_values, (size_t)req->elements, continuous, parse_us);
}

static void handle(const char *text, size_t len, tinyforge_out_t *out, int offer_shm)
{
    tinyforge_request_t req;
    char error[200];
    const uint32_t t0 = tinyforge_timer_us();
    uint32_t parse_us;
    req.values = request_values;
    req.capacity = INPUT_FLOATS;
    if (tinyforge_json_read_request(text, len, &req, error, sizeof error) != 0) {
        answer_error(out, &req, error);
        return;
    }
    parse_us = tinyforge_timer_us() - t0;
    if (!req.has_id) {
        answer_error(out, &req, "every message needs an integer \"id\"");
        return;
    }
    switch (req.kind) {
    case TINYFORGE_REQ_HELLO:
        if (initialized) answer_error(out, &req, "hello: already initialized");
        else if (req.hello != 1.0) answer_error(out, &req, "hello: only version 1 is supported");
        else {
            initialized = 1;
            answer_hello(out, &req, offer_shm);
        }
        return;
    case TINYFORGE_REQ_NONE:
        snprintf(error, sizeof error, "unknown message%s%s%s: this runner answers hello, classify, "
                 "classify_continuous, classify_shm and classify_continuous_shm",
                 req.unknown_key[0] ? " '" : "", req.unknown_key, req.unknown_key[0] ? "'" : "");
        answer_error(out, &req, error);
        return;
    default:
        break;
    }
    if (!initialized) {
        answer_error(out, &req, "send hello first");
        return;
    }
    switch (req.kind) {
    case TINYFORGE_REQ_CLASSIFY:
    case TINYFORGE_REQ_CLASSIFY_CONTINUOUS:
        classify(out, &req, request_values, req.count, req.kind == TINYFORGE_REQ_CLASSIFY_CONTINUOUS,
                 parse_us);
        return;
    case TINYFORGE_REQ_CLASSIFY_SHM:
    case TINYFORGE_REQ_CLASSIFY_CONTINUOUS_SHM:
        classify_from_shm(out, &req, req.kind == TINYFORGE_REQ_CLASSIFY_CONTINUOUS_SHM, parse_us);
        return;
    case TINYFORGE_REQ_SET_THRESHOLD:
        answer_error(out, &req, "set_threshold: this impulse has no thresholds to set (the hello answer "
                                "lists none: scores and the anomaly score are reported as computed)");
        return;
    default:
        answer_error(out, &req, "set_parameter: this impulse has no parameters to set");
        return;
    }
}

/* ---- transport --------------------------------------------------------------------------------- */

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        const ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read messages from in_fd and answer each on out_fd until EOF or a stop signal. Socket answers end
 * with a NUL byte, stdin answers with the newline alone. Returns the exit status. */
static int serve(int in_fd, int out_fd, int nul_terminated, int offer_shm)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int status = 0;
    tinyforge_out_t out = {NULL, 0, 0, 0};
    while (!stop_requested) {
        size_t start, end;
        ssize_t n;
        if (cap - len < READ_CHUNK) {
            char *grown = (char *)realloc(buf, cap + READ_CHUNK);
            if (grown == NULL) {
                fprintf(stderr, "ERR: out of memory reading a message\n");
                status = 1;
                break;
            }
            buf = grown;
            cap += READ_CHUNK;
        }
        if (wait_readable(in_fd) != 0) break;
        n = read(in_fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fprintf(stderr, "ERR: read failed: %s\n", strerror(errno));
            status = 1;
            break;
        }
        if (n == 0) break; /* the client is gone */
        len += (size_t)n;
        while (tinyforge_json_find_object(buf, len, &start, &end)) {
            out.len = 0;
            handle(buf + start, end - start, &out, offer_shm);
            tinyforge_out_raw(&out, "\n");
            if (out.failed || write_all(out_fd, out.data, out.len + (nul_terminated ? 1 : 0)) != 0) {
                fprintf(stderr, "ERR: could not send an answer%s\n", out.failed ? " (out of memory)" : "");
                status = 1;
                goto done;
            }
            memmove(buf, buf + end, len - end);
            len -= end;
        }
        memmove(buf, buf + start, len - start); /* what came before the next '{' is not JSON */
        len -= start;
        if (len > MAX_MESSAGE_BYTES) {
            static const char refused[] = "{\"success\":false,\"error\":\"message larger than the largest "
                                          "request this impulse takes, and not a complete JSON object\"}\n";
            write_all(out_fd, refused, sizeof refused - (nul_terminated ? 0 : 1));
            fprintf(stderr, "ERR: a message of more than %lu bytes without its end: closing\n",
                    (unsigned long)MAX_MESSAGE_BYTES);
            status = 1;
            break;
        }
    }
done:
    free(buf);
    tinyforge_out_free(&out);
    return status;
}

/* Bind SOCKET_PATH. A path that is taken is refused with the reason: a file that is not a socket,
 * or a socket another process listens on. A leftover socket nobody listens on (a runner that was
 * killed) is replaced, as Edge Impulse's runner does. */
static int listen_on(const char *path)
{
    struct sockaddr_un addr, staging;
    struct stat st;
    const char *bound;
    int fd, staged;
    if (strlen(path) == 0 || strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "ERR: the socket path must be 1 to %lu bytes long, '%s' is %lu\n",
                (unsigned long)(sizeof addr.sun_path - 1), path, (unsigned long)strlen(path));
        return -1;
    }
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    if (lstat(path, &st) == 0) {
        int probe;
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "ERR: %s exists and is not a socket: not replacing it (give the path of a new "
                    "socket)\n", path);
            return -1;
        }
        probe = socket(AF_UNIX, SOCK_STREAM, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof addr) == 0) {
            close(probe);
            fprintf(stderr, "ERR: another process is listening on %s: give another socket path\n", path);
            return -1;
        }
        if (probe >= 0) close(probe);
        if (unlink(path) != 0) {
            fprintf(stderr, "ERR: cannot remove the stale socket %s: %s\n", path, strerror(errno));
            return -1;
        }
        printf("replaced the stale socket %s (nobody listened on it)\n", path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        fprintf(stderr, "ERR: cannot create a Unix socket: %s\n", strerror(errno));
        return -1;
    }
    /* Clients (Edge Impulse's runners among them) connect as soon as the path exists, and bind()
     * makes it exist before listen() accepts connections. So bind a sibling name, listen, and only
     * then rename it to PATH: the path appears when it can be connected to. */
    staged = snprintf(staging.sun_path, sizeof staging.sun_path, "%s.%ld", path, (long)getpid());
    staged = staged > 0 && (size_t)staged < sizeof staging.sun_path;
    bound = staged ? staging.sun_path : path;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, bound, strlen(bound) + 1);
    if (staged) unlink(bound);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        fprintf(stderr, "ERR: cannot bind %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    memcpy(socket_path, bound, strlen(bound) + 1);
    if (listen(fd, 1) != 0) {
        fprintf(stderr, "ERR: cannot listen on %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (staged) {
        if (rename(bound, path) != 0) {
            fprintf(stderr, "ERR: cannot move the socket %s to %s: %s\n", bound, path, strerror(errno));
            close(fd);
            return -1;
        }
        memcpy(socket_path, path, strlen(path) + 1);
    }
    return fd;
}

static int socket_main(const char *path)
{
    int fd, conn, status;
    fd = listen_on(path);
    if (fd < 0) return 1;
    printf("Tinyforge impulse runner: waiting for a connection on %s\n", path);
    do {
        conn = wait_readable(fd) == 0 ? accept(fd, NULL, NULL) : -1;
    } while (conn < 0 && errno == EINTR && !stop_requested);
    if (conn < 0) {
        if (!stop_requested) fprintf(stderr, "ERR: accept failed: %s\n", strerror(errno));
        close(fd);
        return stop_requested ? 0 : 1;
    }
    printf("connected\n");
    create_shm();
    status = serve(conn, conn, 1, 1);
    close(conn);
    close(fd);
    return status;
}

int main(int argc, char **argv)
{
    static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    sigset_t blocked;
    size_t i;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(stderr, "usage: %s SOCKET_PATH | stdin | --print-info\n"
                        "  SOCKET_PATH   serve Edge Impulse's runner protocol on a new Unix socket\n"
                        "  stdin         the same JSON messages on stdin, answers on stdout\n"
                        "  --print-info  print the model parameters\n", argv[0]);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: the wait for input returns and we clean up */
    sigemptyset(&sa.sa_mask);
    sigemptyset(&blocked);
    for (i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++) sigaddset(&blocked, stop_signals[i]);
    sigprocmask(SIG_BLOCK, &blocked, &waiting_mask);
    for (i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++) {
        sigdelset(&waiting_mask, stop_signals[i]);
        sigaction(stop_signals[i], &sa, NULL);
    }
    signal(SIGPIPE, SIG_IGN); /* a client that disconnects makes write fail, not kill us */
    atexit(cleanup);
    if (strcmp(argv[1], "--print-info") == 0) {
        tinyforge_out_t out = {NULL, 0, 0, 0};
        tinyforge_request_t req;
        memset(&req, 0, sizeof req);
        req.has_id = 1;
        req.id = 1;
        answer_hello(&out, &req, 0);
        printf("%s\n", out.failed ? "{}" : out.data);
        tinyforge_out_free(&out);
        return 0;
    }
    if (strcmp(argv[1], "stdin") == 0) return serve(STDIN_FILENO, STDOUT_FILENO, 0, 0);
    return socket_main(argv[1]);
}
