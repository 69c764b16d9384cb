// The base of a business chaincode that takes part in Weft's XA transactions on a Fabric channel (the counterpart of
// stubs/evm/WeftXAResource.sol). The router never writes to such a chaincode directly: every write goes through the
// channel's XA proxy chaincode (weft-xa-proxy.js), which checks the chaincode's XA lock and then invokes it within the
// same transaction, so getCreator() is still the real signer. Steps and compensations arrive as
//
//     weftXA(context, function, ...args)    context = {"xa": id, "seq": n, "phase": "step"|"rollback", "signer": address}
//
// and plain writes as the function itself, called by the proxy's forward(). The chaincode declares, for each function
// a step may call, the function that undoes it: weftCompensation(function) answers its name ("" when the function
// cannot be a step). On rollback the proxy calls the compensation with the step's own arguments and the step's own
// context (the step's signer included: a rollback is signed by the coordinator, so getCreator() is not the step's
// signer there), newest step first.
//
// What this base enforces:
//   - weftXA only when the proposal invoked the proxy (its name: WEFT_XA_PROXY, default "weftxa"); a client cannot forge
//     a context by invoking weftXA itself, nor can another chaincode;
//   - a compensation runs only in a rollback, and a step cannot call a compensation;
//   - with viaProxyOnly, a write (any function not in `reads`) is refused unless the proposal invoked the proxy, so writes
//     that bypass the router's proxy, and its locks, fail instead of going unlocked.
'use strict';
const { refuse, signerOf, topChaincode } = require('./weft-common');

function proxyName() {
  return process.env.WEFT_XA_PROXY || 'weftxa';
}

// functions: name -> async (stub, args, ctx) => answer. ctx is {xa, seq, phase, signer}; outside a transaction xa is ""
// and phase "direct" (the client invoked this chaincode) or "forward" (through the proxy), signer the proposal's.
// compensations: {function: its compensation}. reads: names of functions that write nothing.
function xaResource({ functions, compensations, reads = [], viaProxyOnly = true }) {
  const undoing = new Set(Object.values(compensations));
  const table = {
    async weftCompensation(stub, [fn]) {
      return Object.prototype.hasOwnProperty.call(compensations, fn || '') ? compensations[fn] : '';
    },
    async weftXA(stub, [contextJSON, fn, ...args]) {
      if (topChaincode(stub) !== proxyName()) {
        refuse('OnlyThroughXAProxy', `weftXA is for the XA proxy chaincode ${proxyName()}, not for ${topChaincode(stub)}`);
      }
      const ctx = JSON.parse(contextJSON);
      const f = Object.prototype.hasOwnProperty.call(functions, fn) ? functions[fn] : null;
      if (!f) refuse('UnknownFunction', `no function ${fn}`);
      if (ctx.phase === 'rollback' && !undoing.has(fn)) refuse('OnlyInXARollback', `${fn} is not a compensation`);
      if (ctx.phase === 'step' && undoing.has(fn)) refuse('NoCompensation', `${fn} is a compensation, not a step`);
      if (ctx.phase === 'step') ctx.signer = signerOf(stub);
      return f(stub, args, ctx);
    },
  };
  for (const [name, f] of Object.entries(functions)) {
    table[name] = async (stub, args) => {
      if (undoing.has(name)) refuse('OnlyInXARollback', `${name} runs only in an XA rollback, through ${proxyName()}`);
      const viaProxy = topChaincode(stub) === proxyName();
      if (viaProxyOnly && !viaProxy && !reads.includes(name)) {
        refuse('OnlyThroughXAProxy', `writes to this chaincode go through the XA proxy chaincode ${proxyName()}`);
      }
      return f(stub, args, { xa: '', seq: 0, phase: viaProxy ? 'forward' : 'direct', signer: signerOf(stub) });
    };
  }
  return table;
}

module.exports = { xaResource, proxyName };
