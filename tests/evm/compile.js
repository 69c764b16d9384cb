// Compiles Solidity sources with the pinned solc from npm, for the tests: node compile.js OUT.json FILE.sol...
// Writes {"ContractName": {"abi": [...], "bytecode": "0x..."}} for every contract of the given files. The EVM
// version is pinned to paris (no PUSH0), which every EVM chain Weft targets executes.
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const [out, ...files] = process.argv.slice(2);
const sources = {};
for (const f of files) sources[path.basename(f)] = { content: fs.readFileSync(f, "utf8") };
const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: "paris",
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const result = {};
for (const file of Object.keys(output.contracts || {}))
  for (const [name, c] of Object.entries(output.contracts[file]))
    result[name] = { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
fs.writeFileSync(out, JSON.stringify(result, null, 1));
console.log("compiled " + Object.keys(result).join(", ") + " with solc " + solc.version());
