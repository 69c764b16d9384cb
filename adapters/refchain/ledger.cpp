#include "ledger.h"

#include "bft/engine.h"

#include "error.h"
#include "merkle.h"

#include <algorithm>
#include <unordered_set>

namespace weft::refchain {

Ledger::Ledger(LedgerConfig config, const std::string &db_path)
    : config_(std::move(config)), contracts_(make_contracts(config_.resources, config_.xa_coordinator)),
      store_(db_path, config_.chain_id), pool_(config_.pool_limit) {
  head_ = *store_.header(store_.height());
  // Rebuild the replay window from the last kBlockLimitRange blocks.
  uint64_t first = head_.number >= kBlockLimitRange ? head_.number - kBlockLimitRange + 1 : 0;
  std::map<uint64_t, std::vector<Nonce>> by_block;
  for (auto &[number, nonce] : store_.nonces_since(first))
    by_block[number].push_back(nonce);
  for (auto &[number, nonces] : by_block)
    remember_nonces(number, nonces);
}

uint64_t Ledger::height() {
  std::lock_guard lock(mu_);
  return head_.number;
}

BlockHeader Ledger::head() {
  std::lock_guard lock(mu_);
  return head_;
}

size_t Ledger::pool_size() {
  std::lock_guard lock(mu_);
  return pool_.size();
}

void Ledger::check_replay(const Transaction &tx, uint64_t height) const {
  if (tx.block_limit <= height)
    throw Error(WEFT_E_REJECTED, "transaction expired: block_limit " + std::to_string(tx.block_limit) +
                                     " is not above the height " + std::to_string(height) +
                                     "; build it again with a fresh block limit");
  if (tx.block_limit > height + kBlockLimitRange)
    throw Error(WEFT_E_REJECTED, "block_limit " + std::to_string(tx.block_limit) + " is too far ahead: at most " +
                                     std::to_string(height + kBlockLimitRange) + " at height " +
                                     std::to_string(height));
  if (auto it = seen_nonces_.find(tx.nonce); it != seen_nonces_.end())
    throw Error(WEFT_E_REJECTED,
                "nonce " + to_hex(tx.nonce) + " was already used in block " + std::to_string(it->second) + " (replay)");
}

Hash Ledger::submit(Transaction tx) {
  {
    // What would refuse it after the signature check refuses it before: a gossiped copy of a transaction this
    // validator already took from a proposal (or from a client) then costs no signer recovery.
    std::lock_guard lock(mu_);
    check_replay(tx, head_.number);
    if (pool_.has_nonce(tx.nonce))
      throw Error(WEFT_E_REJECTED, "nonce " + to_hex(tx.nonce) + " is already used by a pending transaction");
  }
  VerifiedTx v = verify_transaction(std::move(tx), config_.chain_id); // the costly part runs outside the lock
  std::lock_guard lock(mu_);
  check_replay(v.tx, head_.number);
  Hash h = v.hash;
  pool_.add(std::move(v));
  return h;
}

std::vector<VerifiedTx> Ledger::verify_block_txs(std::vector<Transaction> txs) {
  std::vector<Hash> hashes;
  hashes.reserve(txs.size());
  for (const auto &tx : txs)
    hashes.push_back(tx.hash());
  std::vector<VerifiedTx> out(txs.size());
  std::vector<uint8_t> found(txs.size(), 0);
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < txs.size(); ++i)
      if (const VerifiedTx *v = pool_.find(hashes[i])) {
        out[i] = *v;
        found[i] = 1;
      }
  }
  for (size_t i = 0; i < txs.size(); ++i)
    if (!found[i]) out[i] = verify_transaction(std::move(txs[i]), config_.chain_id); // the costly part, unlocked
  return out;
}

Proposal Ledger::propose(const Address &proposer, uint64_t now_ms, bool allow_empty) {
  std::lock_guard lock(mu_);
  Proposal out;
  std::vector<VerifiedTx> chosen;
  for (auto &tx : pool_.front(config_.max_block_txs)) {
    try {
      check_replay(tx.tx, head_.number);
      chosen.push_back(std::move(tx));
    } catch (const Error &) {
      out.expired.push_back(tx.hash);
    }
  }
  for (const auto &h : out.expired)
    pool_.remove(h);
  if (chosen.empty() && !allow_empty) return out;
  out.block = execute_locked(chosen, proposer, std::max(now_ms, head_.timestamp_ms + 1));
  return out;
}

ExecutedBlock Ledger::execute(const std::vector<VerifiedTx> &txs, const Address &proposer, uint64_t timestamp_ms) {
  std::lock_guard lock(mu_);
  std::unordered_set<Nonce, NonceKey> in_block;
  in_block.reserve(txs.size());
  for (const auto &tx : txs) {
    check_replay(tx.tx, head_.number);
    if (!in_block.insert(tx.tx.nonce).second)
      throw Error(WEFT_E_REJECTED, "nonce " + to_hex(tx.tx.nonce) + " appears twice in one block");
  }
  return execute_locked(txs, proposer, timestamp_ms);
}

ExecutedBlock Ledger::execute_locked(const std::vector<VerifiedTx> &txs, const Address &proposer,
                                     uint64_t timestamp_ms) {
  if (timestamp_ms <= head_.timestamp_ms) throw Error(WEFT_E_REJECTED, "block timestamp must be after its parent's");
  ExecutedBlock b;
  b.header.chain_id = config_.chain_id;
  b.header.number = head_.number + 1;
  b.header.parent_hash = head_.hash();
  b.header.timestamp_ms = timestamp_ms;
  b.header.proposer = proposer;
  StateOverlay block_state = committed_state();
  std::vector<Hash> tx_leaves, receipt_leaves;
  for (const auto &tx : txs) {
    b.receipts.push_back(run(block_state, tx, {b.header.number, b.header.timestamp_ms, config_.chain_id},
                             static_cast<uint32_t>(b.receipts.size())));
    tx_leaves.push_back(tx.hash);
    receipt_leaves.push_back(b.receipts.back().hash());
  }
  b.txs = txs;
  b.writes = block_state.writes();
  b.header.tx_count = static_cast<uint32_t>(txs.size());
  b.header.tx_root = merkle_root(tx_leaves);
  b.header.receipt_root = merkle_root(receipt_leaves);
  b.header.state_hash = next_state_hash(head_.state_hash, b.writes);
  return b;
}

StateOverlay Ledger::committed_state() {
  return StateOverlay([this](const std::string &r, const std::string &k) { return store_.state_get(r, k); },
                      [this](const std::string &r, const std::string &p) { return store_.state_scan(r, p); });
}

Receipt Ledger::run(StateOverlay &block_state, const VerifiedTx &v, BlockContext block, uint32_t index) {
  Receipt r;
  r.tx_hash = v.hash;
  r.block_number = block.number;
  r.index = index;
  r.from = v.sender;
  r.resource = v.tx.resource;
  r.method = v.tx.method;
  r.args = v.tx.args;
  r.message = "Success";
  StateOverlay tx_state = StateOverlay::over(block_state);
  try {
    // The same path as a contract's call into another resource: existence, arity and XA locks.
    Context ctx(contracts_, tx_state, block, v.sender, v.hash, true);
    r.result = ctx.invoke({v.tx.resource, v.tx.method, v.tx.args, v.sender, ""});
    r.events = ctx.events();
    tx_state.merge_into(block_state);
  } catch (const ContractError &e) {
    r.status = e.status; // the transaction stays in the block; its writes die with tx_state
    r.message = e.what();
  }
  return r;
}

void Ledger::commit(const ExecutedBlock &block, ByteView cert) {
  std::lock_guard lock(mu_);
  if (block.header.number != head_.number + 1 || block.header.parent_hash != head_.hash())
    throw Error(WEFT_E_INTERNAL, "block " + std::to_string(block.header.number) + " does not extend the head");
  store_.commit(block.header, block.txs, block.receipts, block.writes, cert);
  head_ = block.header;
  std::vector<Nonce> nonces;
  for (const auto &tx : block.txs) {
    nonces.push_back(tx.tx.nonce);
    pool_.remove(tx.hash);
  }
  remember_nonces(block.header.number, nonces);
}

void Ledger::remember_nonces(uint64_t number, const std::vector<Nonce> &nonces) {
  for (const auto &n : nonces)
    seen_nonces_[n] = number;
  if (!nonces.empty()) nonces_by_block_[number] = nonces;
  // A nonce from block b can only be replayed while height < b + kBlockLimitRange; older ones are safe to forget.
  while (!nonces_by_block_.empty() && nonces_by_block_.begin()->first + kBlockLimitRange <= number) {
    for (const auto &n : nonces_by_block_.begin()->second)
      seen_nonces_.erase(n);
    nonces_by_block_.erase(nonces_by_block_.begin());
  }
}

const Contract *Ledger::contract(const std::string &resource) const {
  auto it = contracts_.find(resource);
  return it == contracts_.end() ? nullptr : it->second.get();
}

void Ledger::check_invocation(const std::string &resource, const std::string &method, size_t arity) {
  const Contract *c = contract(resource);
  if (!c) throw Error(WEFT_E_NOT_FOUND, "no resource named \"" + resource + "\" on this chain");
  const MethodSpec *m = c->find(method);
  if (!m)
    throw Error(WEFT_E_NOT_FOUND,
                "resource " + resource + " (" + std::string(c->kind()) + ") has no method \"" + method + "\"");
  if (!m->accepts(arity))
    throw Error(WEFT_E_INVALID_ARGUMENT, method + " " + m->arity_text() + ", got " + std::to_string(arity));
}

std::optional<std::string> Ledger::xa_lock_holder(const std::string &resource) {
  std::lock_guard lock(mu_);
  return refchain::xa_lock_holder(committed_state(), resource);
}

std::vector<std::string> Ledger::call(const std::string &resource, const std::string &method,
                                      const std::vector<std::string> &args) {
  check_invocation(resource, method, args.size());
  const Contract *c = contract(resource);
  if (c->find(method)->writes)
    throw Error(WEFT_E_INVALID_ARGUMENT, "method " + method + " writes state; use sendTransaction");
  std::lock_guard lock(mu_);
  StateOverlay state = committed_state();
  Context ctx(contracts_, state, {head_.number, head_.timestamp_ms}, Address{}, Hash{}, false);
  try {
    return ctx.invoke({resource, method, args, Address{}, ""});
  } catch (const ContractError &e) {
    throw Error(WEFT_E_INVALID_ARGUMENT, e.what());
  }
}

std::optional<BlockHeader> Ledger::header(uint64_t number) {
  std::lock_guard lock(mu_);
  return store_.header(number);
}

std::vector<Hash> Ledger::block_tx_hashes(uint64_t number) {
  std::lock_guard lock(mu_);
  return store_.block_tx_hashes(number);
}

std::optional<TxRecord> Ledger::find_tx(const Hash &hash) {
  std::lock_guard lock(mu_);
  return store_.find_tx(hash);
}

std::optional<InclusionProof> Ledger::proof(const Hash &tx_hash) {
  std::lock_guard lock(mu_);
  auto rec = store_.find_tx(tx_hash);
  if (!rec) return std::nullopt;
  InclusionProof p;
  p.block_number = rec->receipt.block_number;
  p.index = rec->receipt.index;
  p.tx_hash = tx_hash;
  p.receipt_hash = rec->receipt.hash();
  p.header = *store_.header(p.block_number);
  p.block_hash = p.header.hash();
  std::vector<Hash> tx_leaves = store_.block_tx_hashes(p.block_number), receipt_leaves;
  for (const auto &h : tx_leaves)
    receipt_leaves.push_back(store_.find_tx(h)->receipt.hash());
  p.tx_count = static_cast<uint32_t>(tx_leaves.size());
  p.tx_path = merkle_path(tx_leaves, p.index);
  p.receipt_path = merkle_path(receipt_leaves, p.index);
  if (auto cert = store_.cert(p.block_number)) p.cert = bft::decode_cert(*cert);
  return p;
}

std::vector<Bytes> Ledger::block_tx_bodies(uint64_t number) {
  std::lock_guard lock(mu_);
  return store_.block_tx_bodies(number);
}

std::optional<Bytes> Ledger::cert(uint64_t number) {
  std::lock_guard lock(mu_);
  return store_.cert(number);
}

void Ledger::save_engine_state(ByteView state) {
  std::lock_guard lock(mu_);
  store_.save_meta("engine_state", state);
}

std::optional<Bytes> Ledger::load_engine_state() {
  std::lock_guard lock(mu_);
  return store_.load_meta("engine_state");
}

} // namespace weft::refchain
