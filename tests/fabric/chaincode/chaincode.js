// The Fabric tests' chaincode, run as chaincode-as-a-service (fabric-shim's server mode): a key-value store whose
// functions the tests call through the router. Arguments and answers are strings.
'use strict';
const shim = require('fabric-shim');

class KeyValue {
  async Init() {
    return shim.success();
  }

  async Invoke(stub) {
    const { fcn, params } = stub.getFunctionAndParameters();
    switch (fcn) {
      case 'set': // set(key, value): writes, emits event "set" with the key, answers the value
        await stub.putState(params[0], Buffer.from(params[1]));
        stub.setEvent('set', Buffer.from(params[0]));
        return shim.success(Buffer.from(params[1]));
      case 'get': // get(key): the value, "" when unset
        return shim.success(await stub.getState(params[0]));
      case 'add': { // add(key, n): read-modify-write, so two concurrent adds on one key conflict (MVCC)
        const old = (await stub.getState(params[0])).toString() || '0';
        const sum = String(BigInt(old) + BigInt(params[1]));
        await stub.putState(params[0], Buffer.from(sum));
        return shim.success(Buffer.from(sum));
      }
      case 'fail': // fail(message): the chaincode refuses
        return shim.error(params[0] || 'refused');
      default:
        return shim.error(`unknown function ${fcn}`);
    }
  }
}

const server = shim.server(new KeyValue(), {
  ccid: process.env.CHAINCODE_ID,
  address: process.env.CHAINCODE_SERVER_ADDRESS,
});
server.start().then(
  () => {},
  (err) => {
    console.error(`chaincode server failed: ${err}`);
    process.exit(1);
  },
);
