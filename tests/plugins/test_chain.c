/* A small, valid adapter in plain C (stub type "TestChain"): it proves the ABI needs nothing but C, and its
 * methods let tests drive the router's handling of adapter errors and garbage:
 *   echo ARGS...  -> result = ARGS       fail MSG -> WEFT_E_INVALID_ARGUMENT with MSG
 *   garbage       -> bytes that are not JSON        revert -> a chain-level failure (errorCode 1)
 *   silent        -> answers only when the deadline passes, with WEFT_E_TIMEOUT
 *   hang          -> never answers until cancelled or closed; a send_transaction that hangs was "signed", so its
 *                    cancel names the hash 0x77..77
 *   cancels       -> result = [how many operations the host has cancelled so far]
 *   gate N        -> held until N gate calls are inside the adapter at once, then all of them answer ["N"]; until
 *                    then like hang (so one the host never joins with others ends only when cancelled)
 *   loop X        -> answered ["X","loop"] from the host's event loop: the call queues itself and writes a byte into
 *                    a pipe the chain watches with io_watch; on_ready answers what is queued (WEFT_E_UNSUPPORTED when
 *                    the host lends no loop, as the ABI 1.0 build never has one)
 * Config knobs: "fail_open_times":N fails the first N opens of this chain name in this process (then opens);
 * "open_delay_ms":N makes open take N ms (a slow node);
 * "fail_open":true always fails; "complete":"thread" answers from a new thread instead of inline on the caller's.
 * Built twice: against today's adapter.h, and (WEFT_TEST_CHAIN_V1_0, stub type "LegacyTestChain") against the
 * frozen ABI 1.0 header, to prove an old adapter still loads and works. */
#define _GNU_SOURCE /* pipe2 */
#include <weft/adapter.h>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef WEFT_TEST_CHAIN_V1_0
#define TC_STUB_TYPE "LegacyTestChain"
#else
#define TC_STUB_TYPE "TestChain"
#endif

#define TC_MAX_HANGING 64

struct hanging {
  uint64_t id;
  weft_callback cb;
  void *ctx;
  int send; /* a send_transaction: its cancel names a hash */
  int gate; /* a gate call waiting for the others */
};

struct weft_chain {
  int threaded;
  pthread_mutex_t mu;
  uint64_t next_id;
  unsigned cancels;
  unsigned gated; /* gate calls waiting */
  struct hanging hang[TC_MAX_HANGING];
  /* "loop": the host's event loop watches pipe_r; calls wait in `looped` until on_ready answers them. */
  const weft_host_v1 *host;
  int pipe_r, pipe_w;
  uint64_t watch; /* 0: the host lends no loop */
  struct looped {
    weft_callback cb;
    void *ctx;
    char arg[64];
  } looped[TC_MAX_HANGING];
  int looped_n;
};

/* Opens that failed so far, by chain name, for "fail_open_times". */
static pthread_mutex_t g_open_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  char name[128];
  long failed;
} g_opens[32];

static long json_long(const char *json, const char *key, long dflt) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char *p = strstr(json, pattern);
  return p ? strtol(p + strlen(pattern), NULL, 10) : dflt;
}

/* An answer delivered from a new thread, for chains opened with "complete":"thread". */
struct deferred {
  weft_callback cb;
  void *ctx;
  int32_t status;
  char *message;
  char *data;
};

static void *deliver(void *p) {
  struct deferred *d = (struct deferred *)p;
  d->cb(d->ctx, d->status, d->message, (const uint8_t *)d->data, d->data ? strlen(d->data) : 0);
  free(d->message);
  free(d->data);
  free(d);
  return NULL;
}

static void answer(weft_chain *c, weft_callback cb, void *ctx, int32_t status, const char *message, const char *data) {
  if (!c->threaded) {
    cb(ctx, status, message, (const uint8_t *)data, data ? strlen(data) : 0);
    return;
  }
  struct deferred *d = (struct deferred *)calloc(1, sizeof *d);
  d->cb = cb, d->ctx = ctx, d->status = status;
  d->message = strdup(message ? message : "");
  d->data = data ? strdup(data) : NULL;
  pthread_t t;
  pthread_create(&t, NULL, deliver, d);
  pthread_detach(t);
}

#ifndef WEFT_TEST_CHAIN_V1_0
static const char kLoopAnswer[] =
    "{\"errorCode\":0,\"message\":\"Success\",\"hash\":\"\",\"blockNumber\":0,\"result\":[\"%s\",\"loop\"],\"timestamp\":0}";

/* On one of the host's I/O threads: the pipe is readable. Drains it, answers every queued call, arms again. */
static void loop_ready(void *ctx, uint32_t ready) {
  (void)ready;
  weft_chain *c = (weft_chain *)ctx;
  char sink[64];
  while (read(c->pipe_r, sink, sizeof sink) > 0) {
  }
  struct looped done[TC_MAX_HANGING];
  pthread_mutex_lock(&c->mu);
  int n = c->looped_n;
  memcpy(done, c->looped, sizeof done[0] * (size_t)n);
  c->looped_n = 0;
  pthread_mutex_unlock(&c->mu);
  for (int i = 0; i < n; ++i) {
    char buf[192];
    snprintf(buf, sizeof buf, kLoopAnswer, done[i].arg);
    done[i].cb(done[i].ctx, WEFT_OK, "", (const uint8_t *)buf, strlen(buf));
  }
  c->host->io_arm(c->host->host_ctx, c->watch, WEFT_IO_READ);
}

static void watch_pipe(weft_chain *c, const weft_host_v1 *host) {
  c->host = host;
  if (host == NULL || host->struct_size < offsetof(weft_host_v1, io_unwatch) + sizeof host->io_unwatch ||
      host->io_watch == NULL || host->io_arm == NULL || host->io_unwatch == NULL)
    return;
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return;
  char err[256];
  if (host->io_watch(host->host_ctx, fds[0], loop_ready, c, &c->watch, err, sizeof err) != WEFT_OK) {
    close(fds[0]);
    close(fds[1]);
    c->watch = 0;
    return;
  }
  c->pipe_r = fds[0], c->pipe_w = fds[1];
  host->io_arm(host->host_ctx, c->watch, WEFT_IO_READ);
}

/* Before close frees the chain: no on_ready after this, then the pipe goes and queued calls are cancelled. */
static void unwatch_pipe(weft_chain *c) {
  if (c->watch == 0) return;
  c->host->io_unwatch(c->host->host_ctx, c->watch);
  c->watch = 0;
  close(c->pipe_r);
  close(c->pipe_w);
  for (int i = 0; i < c->looped_n; ++i)
    c->looped[i].cb(c->looped[i].ctx, WEFT_E_CANCELLED, "the chain was closed", NULL, 0);
  c->looped_n = 0;
}
#else
static void watch_pipe(weft_chain *c, const weft_host_v1 *host) {
  (void)c, (void)host;
}
static void unwatch_pipe(weft_chain *c) { (void)c; }
#endif

static int32_t tc_open(const weft_open_args_v1 *args, weft_chain **out, char *err, size_t cap) {
  if (strstr(args->config_json, "\"fail_open\":true") != NULL) {
    strncpy(err, "configured to fail at open", cap - 1);
    err[cap - 1] = '\0';
    return WEFT_E_UNAVAILABLE;
  }
  long delay = json_long(args->config_json, "open_delay_ms", 0);
  if (delay > 0) {
    struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  long fail_times = json_long(args->config_json, "fail_open_times", 0);
  if (fail_times > 0) {
    pthread_mutex_lock(&g_open_mu);
    int i = 0;
    while (i < 32 && g_opens[i].name[0] && strcmp(g_opens[i].name, args->chain_name) != 0) ++i;
    long failed = 0;
    if (i < 32) {
      if (!g_opens[i].name[0]) snprintf(g_opens[i].name, sizeof g_opens[i].name, "%s", args->chain_name);
      failed = g_opens[i].failed;
      if (failed < fail_times) ++g_opens[i].failed;
    }
    pthread_mutex_unlock(&g_open_mu);
    if (failed < fail_times) {
      snprintf(err, cap, "node unreachable (attempt %ld of %ld configured to fail)", failed + 1, fail_times);
      return WEFT_E_UNAVAILABLE;
    }
  }
  weft_chain *c = (weft_chain *)calloc(1, sizeof(weft_chain));
  c->threaded = strstr(args->config_json, "\"complete\":\"thread\"") != NULL;
  pthread_mutex_init(&c->mu, NULL);
  c->next_id = 1;
  c->pipe_r = c->pipe_w = -1;
  watch_pipe(c, args->host);
  *out = c;
  return WEFT_OK;
}

static const char kSentHash[] = "{\"hash\":\"0x7777777777777777777777777777777777777777777777777777777777777777\"}";

static void fail_hanging(struct hanging *h) {
  if (h->send)
    h->cb(h->ctx, WEFT_E_CANCELLED, "cancelled after transaction 0x7777777777777777777777777777777777777777777777777777777777777777 was sent",
          (const uint8_t *)kSentHash, strlen(kSentHash));
  else
    h->cb(h->ctx, WEFT_E_CANCELLED, "cancelled by the host", NULL, 0);
}

static void tc_close(weft_chain *c) {
  struct hanging left[TC_MAX_HANGING];
  int n = 0;
  pthread_mutex_lock(&c->mu);
  for (int i = 0; i < TC_MAX_HANGING; ++i)
    if (c->hang[i].id) left[n++] = c->hang[i], c->hang[i].id = 0;
  pthread_mutex_unlock(&c->mu);
  for (int i = 0; i < n; ++i) fail_hanging(&left[i]);
  unwatch_pipe(c);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

static void tc_cancel(weft_chain *c, uint64_t id) {
  struct hanging h = {0};
  pthread_mutex_lock(&c->mu);
  for (int i = 0; i < TC_MAX_HANGING; ++i)
    if (c->hang[i].id == id && id != 0) {
      h = c->hang[i];
      c->hang[i].id = 0;
      ++c->cancels;
      if (h.gate) --c->gated;
      break;
    }
  pthread_mutex_unlock(&c->mu);
  /* Outside the lock: the host's callback may call in again. */
  if (h.id) fail_hanging(&h);
}

static void tc_list(weft_chain *c, const uint8_t *req, size_t n, uint32_t d, weft_callback cb, void *ctx,
                    uint64_t *op) {
  answer(c, cb, ctx, WEFT_OK, "", "{\"resources\":[{\"name\":\"echo\",\"properties\":{\"contract\":\"echo\"}}]}");
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
/* Where `pattern` starts in the request (which is not NUL-terminated), or NULL. */
static const char *find_in(const uint8_t *req, size_t n, const char *pattern) {
  size_t plen = strlen(pattern);
  for (size_t i = 0; i + plen <= n; ++i)
    if (memcmp(req + i, pattern, plen) == 0) return (const char *)req + i;
  return NULL;
}

static int method_is(const uint8_t *req, size_t n, const char *name) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"method\":\"%s\"", name);
  return find_in(req, n, pattern) != NULL;
}

/* The request's first argument, a string, into out (cap bytes, cut short if longer); "" when there is none. */
static void first_arg(const uint8_t *req, size_t n, char *out, size_t cap) {
  static const char key[] = "\"args\":[\"";
  size_t k = 0;
  const char *at = find_in(req, n, key);
  if (at)
    for (const char *p = at + sizeof key - 1; p < (const char *)req + n && *p != '"' && k + 1 < cap; ++p) out[k++] = *p;
  out[k] = '\0';
}

static void run_method(weft_chain *c, const uint8_t *req, size_t n, uint32_t deadline, weft_callback cb, void *ctx,
                       uint64_t *op, int send) {
  if (op) *op = 0;
  if (method_is(req, n, "fail")) {
    answer(c, cb, ctx, WEFT_E_INVALID_ARGUMENT, "test chain refused the arguments", NULL);
  } else if (method_is(req, n, "garbage")) {
    static const uint8_t junk[] = {0xff, 0x00, '{', 'x'};
    cb(ctx, WEFT_OK, "", junk, sizeof junk);
  } else if (method_is(req, n, "revert")) {
    answer(c, cb, ctx, WEFT_OK, "",
           "{\"errorCode\":1,\"message\":\"reverted by test chain\",\"hash\":\"0x01\",\"blockNumber\":1,"
           "\"result\":[],\"timestamp\":0}");
  } else if (method_is(req, n, "silent")) {
    struct silent_op *s = (struct silent_op *)malloc(sizeof *s);
    s->cb = cb, s->ctx = ctx, s->deadline_ms = deadline ? deadline : 1000;
    pthread_t t;
    pthread_create(&t, NULL, silent_wait, s);
    pthread_detach(t);
  } else if (method_is(req, n, "hang")) {
    pthread_mutex_lock(&c->mu);
    int slot = -1;
    for (int i = 0; i < TC_MAX_HANGING && slot < 0; ++i)
      if (!c->hang[i].id) slot = i;
    if (slot >= 0) {
      c->hang[slot].id = c->next_id++;
      c->hang[slot].cb = cb, c->hang[slot].ctx = ctx, c->hang[slot].send = send, c->hang[slot].gate = 0;
      if (op) *op = c->hang[slot].id;
    }
    pthread_mutex_unlock(&c->mu);
    if (slot < 0) cb(ctx, WEFT_E_REJECTED, "too many hanging operations", NULL, 0);
  } else if (method_is(req, n, "gate")) {
    char arg[32];
    first_arg(req, n, arg, sizeof arg);
    long want = strtol(arg, NULL, 10);
    struct hanging open[TC_MAX_HANGING];
    int opened = 0, held = 0;
    pthread_mutex_lock(&c->mu);
    if ((long)c->gated + 1 >= want) {
      for (int i = 0; i < TC_MAX_HANGING; ++i)
        if (c->hang[i].id && c->hang[i].gate) open[opened++] = c->hang[i], c->hang[i].id = 0;
      c->gated = 0;
    } else {
      for (int i = 0; i < TC_MAX_HANGING && !held; ++i)
        if (!c->hang[i].id) {
          c->hang[i] = (struct hanging){c->next_id++, cb, ctx, send, 1};
          if (op) *op = c->hang[i].id;
          ++c->gated;
          held = 1;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (held) return;
    char buf[160];
    snprintf(buf, sizeof buf,
             "{\"errorCode\":0,\"message\":\"Success\",\"hash\":\"\",\"blockNumber\":0,\"result\":[\"%ld\"],"
             "\"timestamp\":0}",
             want);
    for (int i = 0; i < opened; ++i) open[i].cb(open[i].ctx, WEFT_OK, "", (const uint8_t *)buf, strlen(buf));
    answer(c, cb, ctx, WEFT_OK, "", buf);
  } else if (method_is(req, n, "loop")) {
    char arg[64];
    first_arg(req, n, arg, sizeof arg);
    pthread_mutex_lock(&c->mu);
    int queued = c->watch != 0 && c->looped_n < TC_MAX_HANGING;
    if (queued) {
      struct looped *l = &c->looped[c->looped_n++];
      l->cb = cb, l->ctx = ctx;
      snprintf(l->arg, sizeof l->arg, "%s", arg);
    }
    pthread_mutex_unlock(&c->mu);
    if (!queued) {
      answer(c, cb, ctx, c->watch ? WEFT_E_REJECTED : WEFT_E_UNSUPPORTED,
             c->watch ? "too many loop calls waiting" : "the host lends no event loop", NULL);
      return;
    }
    char one = 1;
    (void)!write(c->pipe_w, &one, 1); /* a full pipe already wakes the loop */
  } else if (method_is(req, n, "cancels")) {
    char buf[128];
    pthread_mutex_lock(&c->mu);
    unsigned cancels = c->cancels;
    pthread_mutex_unlock(&c->mu);
    snprintf(buf, sizeof buf,
             "{\"errorCode\":0,\"message\":\"Success\",\"hash\":\"\",\"blockNumber\":0,\"result\":[\"%u\"],"
             "\"timestamp\":0}",
             cancels);
    answer(c, cb, ctx, WEFT_OK, "", buf);
  } else if (method_is(req, n, "echo")) {
    /* Echo the args array back verbatim. */
    const char *key = "\"args\":";
    const char *start = find_in(req, n, key);
    if (start) start += strlen(key);
    const char *end = start ? memchr(start, ']', n - (size_t)(start - (const char *)req)) : NULL;
    if (!start || !end) {
      answer(c, cb, ctx, WEFT_E_INVALID_ARGUMENT, "no args", NULL);
      return;
    }
    char buf[4096];
    int len = snprintf(buf, sizeof buf,
                       "{\"errorCode\":0,\"message\":\"Success\",\"hash\":\"\",\"blockNumber\":0,\"result\":%.*s],"
                       "\"timestamp\":0}",
                       (int)(end - start), start);
    if (len < 0 || (size_t)len >= sizeof buf) {
      answer(c, cb, ctx, WEFT_E_INVALID_ARGUMENT, "args too long for the test chain", NULL);
      return;
    }
    answer(c, cb, ctx, WEFT_OK, "", buf);
  } else {
    answer(c, cb, ctx, WEFT_E_NOT_FOUND, "test chain has no such method", NULL);
  }
}

static void tc_call(weft_chain *c, const uint8_t *req, size_t n, uint32_t deadline, weft_callback cb, void *ctx,
                    uint64_t *op) {
  run_method(c, req, n, deadline, cb, ctx, op, 0);
}

static void tc_send(weft_chain *c, const uint8_t *req, size_t n, uint32_t deadline, weft_callback cb, void *ctx,
                    uint64_t *op) {
  run_method(c, req, n, deadline, cb, ctx, op, 1);
}

static void tc_height(weft_chain *c, const uint8_t *req, size_t n, uint32_t d, weft_callback cb, void *ctx,
                      uint64_t *op) {
  answer(c, cb, ctx, WEFT_OK, "", "{\"height\":7}");
}

static void tc_health(weft_chain *c, const uint8_t *req, size_t n, uint32_t d, weft_callback cb, void *ctx,
                      uint64_t *op) {
  answer(c, cb, ctx, WEFT_OK, "", "{\"status\":\"ok\",\"height\":7}");
}

#ifndef WEFT_TEST_CHAIN_V1_0
/* The verbs appended after ABI 1.0, so tests reach each through the host's table. */
static void tc_xa_status(weft_chain *c, const uint8_t *req, size_t n, uint32_t d, weft_callback cb, void *ctx,
                         uint64_t *op) {
  answer(c, cb, ctx, WEFT_OK, "", "{\"xaTransactionID\":\"x1\",\"status\":\"none\",\"resources\":[],\"steps\":[]}");
}

static void tc_chain_info(weft_chain *c, const uint8_t *req, size_t n, uint32_t d, weft_callback cb, void *ctx,
                          uint64_t *op) {
  answer(c, cb, ctx, WEFT_OK, "",
         "{\"height\":7,\"blockTime\":1700000000000,\"finalityBlocks\":0,\"blockIntervalMs\":1000}");
}

/* A subscription emits two blocks and an end record at once, from the subscribing thread. */
static int32_t tc_subscribe_v2(weft_chain *c, const uint8_t *req, size_t n, weft_record_fn on_record, void *ctx,
                               uint64_t *id, char *err, size_t cap) {
  static const char *records[] = {
      "{\"seq\":1,\"cursor\":\"6\",\"kind\":\"block\",\"number\":6,\"hash\":\"0x06\",\"timestamp\":1}",
      "{\"seq\":2,\"cursor\":\"7\",\"kind\":\"block\",\"number\":7,\"hash\":\"0x07\",\"timestamp\":2}",
      "{\"seq\":3,\"cursor\":\"7\",\"kind\":\"end\",\"reason\":\"test chain has no more blocks\"}"};
  pthread_mutex_lock(&c->mu);
  *id = c->next_id++;
  pthread_mutex_unlock(&c->mu);
  for (int i = 0; i < 3; ++i) on_record(ctx, (const uint8_t *)records[i], strlen(records[i]));
  return WEFT_OK;
}

static void tc_unsubscribe(weft_chain *c, uint64_t id) { (void)c, (void)id; }
#endif

static const char *const tc_types[] = {TC_STUB_TYPE, NULL};

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
    .send_transaction = tc_send,
    .block_height = tc_height,
    .health = tc_health,
#ifndef WEFT_TEST_CHAIN_V1_0
    .unsubscribe = tc_unsubscribe,
    .xa_status = tc_xa_status,
    .chain_info = tc_chain_info,
    .subscribe_v2 = tc_subscribe_v2,
#endif
};

__attribute__((visibility("default"))) const weft_adapter_v1 *weft_adapter_entry_v1(void) { return &tc_table; }
