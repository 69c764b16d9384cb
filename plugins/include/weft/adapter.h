/* The Weft adapter ABI: the one boundary between weft-router and a chain adapter plugin.
 * Plain C, no dependency beyond the C standard library, so an adapter can be written in any language. */
#ifndef WEFT_ADAPTER_H
#define WEFT_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The major ABI version. A library built for another major version is refused at load. Within a major
 * version, fields are only ever appended to the tables below; each table starts with its struct_size so a
 * reader knows which fields the other side has. */
#define WEFT_ADAPTER_ABI_VERSION 1u

/* The one symbol an adapter library exports. */
#define WEFT_ADAPTER_ENTRY_SYMBOL "weft_adapter_entry_v1"

/* Result codes of every verb. 0 is success; an adapter maps its chain's failures onto these. A transaction
 * that reached the chain and failed there (revert, bad status) is WEFT_OK with the chain's outcome inside
 * the result JSON, not an error code. */
typedef enum weft_status {
  WEFT_OK = 0,
  WEFT_E_INVALID_ARGUMENT = 1, /* the request bytes are malformed or name something invalid */
  WEFT_E_NOT_FOUND = 2,        /* resource, method, block, transaction or account does not exist */
  WEFT_E_UNSUPPORTED = 3,      /* the verb or method is not offered by this chain */
  WEFT_E_TIMEOUT = 4,          /* the deadline passed before the chain answered */
  WEFT_E_UNAVAILABLE = 5,      /* the chain cannot be reached or is not ready */
  WEFT_E_REJECTED = 6,         /* the chain refused the transaction before execution (pool full, replay, bad nonce) */
  WEFT_E_ACCOUNT = 7,          /* the host could not sign with the named account */
  WEFT_E_CANCELLED = 8,        /* cancelled by the host */
  WEFT_E_BUSY = 9,             /* the resource is locked by another transaction (XA) */
  WEFT_E_INTERNAL = 10         /* a bug or an unexpected failure inside the adapter */
} weft_status;

/* Log levels of the host's log service. */
typedef enum weft_log_level {
  WEFT_LOG_TRACE = 0,
  WEFT_LOG_DEBUG = 1,
  WEFT_LOG_INFO = 2,
  WEFT_LOG_WARN = 3,
  WEFT_LOG_ERROR = 4
} weft_log_level;

/* Services the host hands to an adapter when it opens a chain. Every function may be called from any
 * thread, at any time between open and the return of close. Keys never leave the host: an adapter asks it
 * to sign. */
typedef struct weft_host_v1 {
  uint32_t struct_size;
  void *host_ctx; /* pass back as the first argument of every service */

  /* One log line, attributed to the chain. `message` is NUL-terminated. */
  void (*log)(void *host_ctx, int32_t level, const char *chain, const char *message);

  /* Sign a digest with the named account's key. `algorithm` is one of:
   *  - "secp256k1": digest is the 32-byte hash to sign; the signature is 65 bytes r||s||recovery id, low-S;
   *  - "sm2": digest is the message hash as the chain computes it (SM3 of the transaction, 32 bytes); the host
   *    computes e = SM3(Z_A || digest) with the default user ID "1234567812345678" (GB/T 32918) and signs e; the
   *    signature is 64 bytes r||s;
   *  - "p256": digest is the 32-byte hash to sign (ECDSA on NIST P-256); the signature is 64 bytes r||s with
   *    s in the low half of the group order, as Fabric requires.
   * The host writes the signature into sig (capacity *sig_len, set to the length written) and the account's
   * uncompressed public key without the 0x04 prefix (64 bytes) into pub (capacity *pub_len, set likewise). On
   * failure returns a weft_status and writes a NUL-terminated reason into err (capacity err_cap). */
  int32_t (*sign)(void *host_ctx, const char *account, const char *algorithm, const uint8_t *digest,
                  size_t digest_len, uint8_t *sig, size_t *sig_len, uint8_t *pub, size_t *pub_len, char *err,
                  size_t err_cap);

  /* The account's public key alone, with the same conventions as sign. */
  int32_t (*public_key)(void *host_ctx, const char *account, const char *algorithm, uint8_t *pub,
                        size_t *pub_len, char *err, size_t err_cap);

  /* ---- Appended after ABI 1.0; an adapter reads these only when host->struct_size covers them. ---- */

  /* The account's identity where a chain names signers by certificate (Fabric): its X.509 certificate as PEM
   * text into cert (capacity *cert_len, set to the length written, no NUL added) and its MSP id, NUL-terminated,
   * into msp_id (capacity msp_cap). WEFT_E_NOT_FOUND when the account has no certificate; WEFT_E_INVALID_ARGUMENT
   * with *cert_len set to the size needed when cert is too small (8 KiB always suffices). */
  int32_t (*identity)(void *host_ctx, const char *account, char *cert, size_t *cert_len, char *msp_id,
                      size_t msp_cap, char *err, size_t err_cap);

  /* The host's event loop, lent to the adapter (appended after identity; NULL when the host has none, and an adapter
   * then waits on its sockets with a thread of its own). An adapter that waits for a socket's readiness here needs no
   * thread for it, and the completions it runs from on_ready start on the host thread that answers the request.
   *
   * io_watch registers a file descriptor the adapter owns (non-blocking) and sets *watch_id; nothing is waited for
   * until io_arm. io_arm(events) arms the watch once: on_ready(ctx, ready) runs once, on one of the host's I/O threads,
   * when the descriptor is ready for one of `events` (WEFT_IO_READ, WEFT_IO_WRITE; an error or a hang-up counts as
   * ready for both), and the watch is then disarmed until it is armed again. Readiness that came before io_arm counts
   * (level, not edge). on_ready may run when the descriptor turns out not to be ready after all: read and write
   * without blocking. io_arm may be called from any thread, on_ready included; arming an armed watch adds events.
   * io_unwatch ends the watch: when it returns, on_ready is not running and never runs again, except that called from
   * on_ready itself it returns at once and that call is the last. The descriptor stays open: the adapter closes it
   * after io_unwatch. on_ready must not block: every chain's I/O shares these threads. */
  int32_t (*io_watch)(void *host_ctx, int fd, void (*on_ready)(void *ctx, uint32_t ready), void *ctx,
                      uint64_t *watch_id, char *err, size_t err_cap);
  void (*io_arm)(void *host_ctx, uint64_t watch_id, uint32_t events);
  void (*io_unwatch)(void *host_ctx, uint64_t watch_id);
} weft_host_v1;

/* Events of io_arm and on_ready. */
#define WEFT_IO_READ 1u
#define WEFT_IO_WRITE 2u

/* What the host passes to open. Strings are NUL-terminated and borrowed for the duration of the call. */
typedef struct weft_open_args_v1 {
  uint32_t struct_size;
  const weft_host_v1 *host; /* valid until close returns */
  const char *stub_type;    /* one of the types the library declared */
  const char *chain_name;   /* "zone.chain" */
  const char *config_json;  /* the chain's config section, as JSON */
  const char *data_dir;     /* a directory the adapter owns for this chain, already created */
} weft_open_args_v1;

/* An open chain. Opaque to the host; all of an adapter's per-chain state lives behind it. */
typedef struct weft_chain weft_chain;

/* Completion of an asynchronous verb: called exactly once per call, from any thread, possibly before the verb
 * returns (on the calling thread). On WEFT_OK, data/size hold the result (JSON, UTF-8) and message is "". On
 * failure, message is a NUL-terminated explanation and data is NULL or a JSON object with details: a
 * send_transaction that fails with WEFT_E_TIMEOUT or WEFT_E_CANCELLED after its transaction was signed MUST give
 * {"hash":"0x.."}, since the transaction may still commit. Both are valid only until the callback returns: the
 * host copies what it keeps. */
typedef void (*weft_callback)(void *ctx, int32_t status, const char *message, const uint8_t *data, size_t size);

/* An asynchronous verb. It returns at once; the result arrives through cb(ctx, ...). The request is JSON
 * bytes, borrowed until the verb returns. deadline_ms is relative to the call (0: the adapter's default).
 * op_id receives an id that cancel accepts (may be NULL). The request and result JSON of each verb are
 * specified in docs/adapters.md. */
typedef void (*weft_verb_fn)(weft_chain *chain, const uint8_t *request, size_t request_size, uint32_t deadline_ms,
                             weft_callback cb, void *ctx, uint64_t *op_id);

/* A stream of events (new blocks, contract events): on_event runs once per event, from any thread, until
 * unsubscribe returns. The event bytes are valid only during the call. */
typedef void (*weft_event_fn)(void *ctx, const uint8_t *event, size_t size);

/* One record of a subscribe_v2 stream, JSON, valid only during the call. Every record carries "seq" (1, 2, 3, ...
 * per subscription, no holes) and "cursor" (an opaque string; passing it as "from" resumes right after this
 * record). "kind" is one of:
 *   "block"  {"seq","cursor","kind","number","hash","timestamp"}          (kind "blocks" subscriptions)
 *   "event"  {"seq","cursor","kind","block","txHash","resource","name","data":{...}} (kind "events")
 *   "gap"    {"seq","cursor","kind","from","to","reason"}: blocks from..to (inclusive) were not delivered and
 *            never will be on this subscription; the host re-reads them if it needs them
 *   "end"    {"seq","cursor","kind","reason"}: the last record; nothing follows it (chain closed, error). */
typedef void (*weft_record_fn)(void *ctx, const uint8_t *record, size_t size);

/* The adapter's table of verbs. A NULL verb means "not offered by this adapter"; the host answers such a
 * request with an unsupported error without calling it. Fields are only appended, never reordered. */
typedef struct weft_adapter_v1 {
  uint32_t struct_size;
  uint32_t abi_version;     /* WEFT_ADAPTER_ABI_VERSION the library was built against */
  const char *name;         /* library name, e.g. "weft-refchain" */
  const char *version;      /* library version, e.g. "0.1.0" */
  const char *const *stub_types; /* NULL-terminated list of the chain types it serves, e.g. "RefChain" */

  /* Open a chain. May block (the host calls it off its I/O threads). On success sets *out and returns
   * WEFT_OK; on failure returns a weft_status and writes a NUL-terminated reason into err. */
  int32_t (*open)(const weft_open_args_v1 *args, weft_chain **out, char *err, size_t err_cap);
  /* Close a chain: pending operations complete (with WEFT_E_CANCELLED if need be) before it returns, and no
   * callback runs after it. */
  void (*close)(weft_chain *chain);
  /* Ask an operation to end early; its callback still runs exactly once. Unknown ids are ignored. */
  void (*cancel)(weft_chain *chain, uint64_t op_id);

  /* Resources and single operations. */
  weft_verb_fn list_resources;   /* {} -> {"resources":[{"name","properties":{}}]} */
  weft_verb_fn call;             /* read-only call on a resource */
  weft_verb_fn send_transaction; /* signed write, answered with the receipt once committed */
  weft_verb_fn block_height;     /* {} -> {"height":N} */
  weft_verb_fn get_block;        /* {"number":N} -> block */
  weft_verb_fn get_receipt;      /* {"hash":"0x.."} -> receipt */
  weft_verb_fn get_proof;        /* {"hash":"0x.."} -> inclusion proof */
  weft_verb_fn health;           /* {} -> {"status":"ok"|..., "height":N, ...} */
  weft_verb_fn account_info;     /* {"account":name} -> {"address":"0x.."} */

  /* On-chain stubs (XA proxy, HTLC). */
  weft_verb_fn deploy_stubs; /* {"stubs":["xa","htlc"],"account":name} -> {"resources":[...]} */

  /* XA branch on this chain; executing a step is send_transaction with the XA options. Each is idempotent by
   * xaTransactionID; a failure once executed is WEFT_E_BUSY (details {"holder"}), WEFT_E_REJECTED (finished),
   * WEFT_E_NOT_FOUND or WEFT_E_ACCOUNT (not the coordinator). Full shapes: docs/adapters.md, "XA verbs". */
  weft_verb_fn xa_start;    /* {"xaTransactionID","resources":[...],"account"} lock -> {"xaTransactionID","status"} */
  weft_verb_fn xa_commit;   /* {"xaTransactionID","account"} unlock -> {"xaTransactionID","status":"committed"} */
  weft_verb_fn xa_rollback; /* {"xaTransactionID","account"} compensate, then unlock -> {...,"status":"rolledback"} */

  /* Hash-time-lock contracts. A lock is keyed by (sender, id): the sender is the address of the account that
   * locked, id a 32-byte hex string it chose, so nobody can squat another party's id. Timelocks are Unix
   * milliseconds of chain time (the including block's timestamp): a claim needs block time < timelock, a refund
   * block time >= timelock. The three writes answer once committed with {"sender","id","txHash","blockNumber",
   * "blockTime","state"}; a refusal by the chain (duplicate, wrong secret, expired, not expired, not locked) is
   * WEFT_E_REJECTED with details {"hash","code"}. Full JSON: docs/adapters.md, "HTLC verbs"; semantics: docs/htlc.md. */
  weft_verb_fn htlc_lock;   /* {"resource","id","receiver","amount","hash","timelock","account"} -> "locked" */
  weft_verb_fn htlc_unlock; /* claim: {"resource","sender","id","secret","account"}; pays the receiver -> "claimed" */
  weft_verb_fn htlc_refund; /* {"resource","sender","id","account"}; at or after the timelock, pays the sender */
  weft_verb_fn htlc_status; /* {"resource","sender","id"} -> {...,"state":"none"|"locked"|"claimed"|"refunded"} */

  /* Push of new blocks or events. request: {"kind":"blocks"} or {"kind":"events","resource":...}. */
  int32_t (*subscribe)(weft_chain *chain, const uint8_t *request, size_t request_size, weft_event_fn on_event,
                       void *ctx, uint64_t *subscription_id, char *err, size_t err_cap);
  /* Ends a subscription of either kind; no on_event or on_record call runs after it returns. */
  void (*unsubscribe)(weft_chain *chain, uint64_t subscription_id);

  /* ---- Appended after ABI 1.0, in this order; the host reads them only when struct_size covers them. ---- */

  /* A branch's state on this chain: {"xaTransactionID"} -> {"xaTransactionID","status":"none"|"processing"|
   * "committed"|"rolledback","resources":[...],"steps":[{"seq","resource","method","args":[...],"hash",
   * "result":[...]}]}. */
  weft_verb_fn xa_status;
  /* {} -> {"height":N,"blockTime":ms,"finalityBlocks":N,"blockIntervalMs":N}: the latest block's number and its
   * time in Unix milliseconds (chain time, as HTLC timelocks read it), how many blocks after a block it is final
   * (0: final once included, as with BFT), and the typical interval between blocks. */
  weft_verb_fn chain_info;
  /* A stream with sequence numbers, explicit gaps and an end, resumable by cursor. request:
   * {"kind":"blocks"|"events","resource":name (events),"from":cursor|null}; records as weft_record_fn. Returns
   * WEFT_OK and sets *subscription_id, or a status and a reason in err (a cursor it cannot resume from is
   * WEFT_E_INVALID_ARGUMENT). on_record runs on the adapter's thread, one record at a time, in seq order. */
  int32_t (*subscribe_v2)(weft_chain *chain, const uint8_t *request, size_t request_size, weft_record_fn on_record,
                          void *ctx, uint64_t *subscription_id, char *err, size_t err_cap);
  /* Adds a resource to the chain, kept across restarts by the adapter: {"name","address","abi"} registers a deployed
   * contract; {"name","bytecode","abi","args":[...],"account"} deploys it first (constructor args as WeCross
   * strings). -> {"name","address","properties",...,"hash","blockNumber" (deployed)}. The host lists the chain's
   * resources again afterwards. */
  weft_verb_fn register_resource;
} weft_adapter_v1;

/* The entry point every adapter library exports (extern "C", default visibility). Returns a table with
 * static storage duration. */
typedef const weft_adapter_v1 *(*weft_adapter_entry_v1_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_ADAPTER_H */
