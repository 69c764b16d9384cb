/* A small, valid adapter in plain C (stub type "TestChain"): it proves the ABI needs nothing but C, and its
 * methods let tests drive the router's handling of adapter errors and garbage:
 *   echo ARGS...  -> result = ARGS       fail MSG -> WEFT_E_INVALID_ARGUMENT with MSG
 *   garbage       -> bytes that are not JSON        revert -> a chain-level failure (errorCode 1)
 *   silent        -> answers only when the deadline passes, with WEFT_E_TIMEOUT */
#include <weft/adapter.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct weft_chain {
  int open;
};

static void reply(weft_callback cb, void *ctx, const char *json) {
  cb(ctx, WEFT_OK, "", (const uint8_t *)json, strlen(json));
}

static int32_t tc_open(const weft_open_args_v1 *args, weft_chain **out, char *err, size_t cap) {
  if (strstr(args->config_json, "\"fail_open\":true") != NULL) {
    strncpy(err, "configured to fail at open", cap - 1);
    err[cap - 1] = '\0';
    return WEFT_E_UNAVAILABLE;
  }
  *out = (weft_chain *)calloc(1, sizeof(weft_chain));
  (*out)->open = 1;
  return WEFT_OK;
}

static void tc_close(weft_chain *chain) { free(chain); }
static void tc_cancel(weft_chain *chain, uint64_t id) { (void)chain, (void)id; }

static void tc_list(weft_chain *c, const uint8_t *req, size_t n, uint32_t d, weft_callback cb, void *ctx,
                    uint64_t *op) {
  reply(cb, ctx, "{\"resources\":[{\"name\":\"echo\",\"properties\":{\"contract\":\"echo\"}}]}");
}

struct silent_op {
  weft_callback cb;
  void *ctx;
  uint32_t deadline_ms;
};

static void *silent_wait(void *p) {
  struct silent_op *op = (struct silent_op *)p;
  struct timespec ts = {op->deadline_ms / 1000, (long)(op->deadline_ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  op->cb(op->ctx, WEFT_E_TIMEOUT, "test chain stayed silent until the deadline", NULL, 0);
  free(op);
  return NULL;
}

/* Finds "method":"X" in the request; the router always sends compact JSON. */
static int method_is(const uint8_t *req, size_t n, const char *name) {
  char pattern[64];
  size_t plen = (size_t)snprintf(pattern, sizeof pattern, "\"method\":\"%s\"", name);
  if (n < plen) return 0;
  for (size_t i = 0; i + plen <= n; ++i)
    if (memcmp(req + i, pattern, plen) == 0) return 1;
  return 0;
}

static void tc_call(weft_chain *c, const uint8_t *req, size_t n, uint32_t deadline, weft_callback cb, void *ctx,
                    uint64_t *op) {
  if (method_is(req, n, "fail")) {
    cb(ctx, WEFT_E_INVALID_ARGUMENT, "test chain refused the arguments", NULL, 0);
  } else if (method_is(req, n, "garbage")) {
    static const uint8_t junk[] = {0xff, 0x00, '{', 'x'};
    cb(ctx, WEFT_OK, "", junk, sizeof junk);
  } else if (method_is(req, n, "revert")) {
    reply(cb, ctx, "{\"errorCode\":1,\"message\":\"reverted by test chain\",\"hash\":\"0x01\",\"blockNumber\":1,"
                   "\"result\":[],\"timestamp\":0}");
  } else if (method_is(req, n, "silent")) {
    struct silent_op *s = (struct silent_op *)malloc(sizeof *s);
    s->cb = cb, s->ctx = ctx, s->deadline_ms = deadline ? deadline : 1000;
    pthread_t t;
    pthread_create(&t, NULL, silent_wait, s);
    pthread_detach(t);
  } else if (method_is(req, n, "echo")) {
    /* Echo the args array back verbatim. */
    const char *key = "\"args\":";
    const char *start = NULL;
    for (size_t i = 0; i + strlen(key) <= n; ++i)
      if (memcmp(req + i, key, strlen(key)) == 0) {
        start = (const char *)req + i + strlen(key);
        break;
      }
    const char *end = start ? memchr(start, ']', n - (size_t)(start - (const char *)req)) : NULL;
    if (!start || !end) {
      cb(ctx, WEFT_E_INVALID_ARGUMENT, "no args", NULL, 0);
      return;
    }
    char buf[4096];
    int len = snprintf(buf, sizeof buf,
                       "{\"errorCode\":0,\"message\":\"Success\",\"hash\":\"\",\"blockNumber\":0,\"result\":%.*s],"
                       "\"timestamp\":0}",
                       (int)(end - start), start);
    if (len < 0 || (size_t)len >= sizeof buf) {
      cb(ctx, WEFT_E_INVALID_ARGUMENT, "args too long for the test chain", NULL, 0);
      return;
    }
    reply(cb, ctx, buf);
  } else {
    cb(ctx, WEFT_E_NOT_FOUND, "test chain has no such method", NULL, 0);
  }
}

static void tc_height(weft_chain *c, const uint8_t *req, size_t n, uint32_t d, weft_callback cb, void *ctx,
                      uint64_t *op) {
  reply(cb, ctx, "{\"height\":7}");
}

static void tc_health(weft_chain *c, const uint8_t *req, size_t n, uint32_t d, weft_callback cb, void *ctx,
                      uint64_t *op) {
  reply(cb, ctx, "{\"status\":\"ok\",\"height\":7}");
}

static const char *const tc_types[] = {"TestChain", NULL};

static const weft_adapter_v1 tc_table = {
    .struct_size = sizeof(weft_adapter_v1),
    .abi_version = WEFT_ADAPTER_ABI_VERSION,
    .name = "weft-testchain",
    .version = "0.0.1",
    .stub_types = tc_types,
    .open = tc_open,
    .close = tc_close,
    .cancel = tc_cancel,
    .list_resources = tc_list,
    .call = tc_call,
    .send_transaction = tc_call,
    .block_height = tc_height,
    .health = tc_health,
};

__attribute__((visibility("default"))) const weft_adapter_v1 *weft_adapter_entry_v1(void) { return &tc_table; }
