#!/usr/bin/env node
// A native-solc-compatible front end for the npm `solc` package (solc-js, the official compiler
// built to WebAssembly). py-solc-x and slither call it exactly as they call a native solc:
//
//   <exe> --version
//   <exe> --standard-json [--base-path DIR] [--include-path DIR]... [--allow-paths ...] < input.json
//
// Unlike the `solcjs` command shipped with the package, it writes nothing but the compiler's JSON
// output to stdout, accepts (and ignores) --allow-paths, and resolves imports the way native solc
// does: against the base path, then each include path.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require(path.join(__dirname, '..', 'node_modules', 'solc'));

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, includePaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`missing value after ${arg}`);
      return argv[++i];
    };
    if (arg === '--version') opts.version = true;
    else if (arg === '--standard-json') opts.standardJson = true;
    else if (arg === '--base-path') opts.basePath = value();
    else if (arg === '--include-path') opts.includePaths.push(value());
    else if (arg === '--allow-paths') value();
    else if (arg.startsWith('--allow-paths=')) continue;
    else if (arg.startsWith('--base-path=')) opts.basePath = arg.slice('--base-path='.length);
    else if (arg.startsWith('--include-path=')) opts.includePaths.push(arg.slice('--include-path='.length));
    else fail(`unsupported argument: ${arg} (this front end supports --version and --standard-json)`);
  }
  return opts;
}

function fail(message) {
  process.stderr.write(`solcjs-standard-json: ${message}\n`);
  process.exit(2);
}

function makeImportCallback(opts) {
  const roots = [opts.basePath || process.cwd(), ...opts.includePaths];
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.resolve(root, importPath));
    for (const candidate of candidates) {
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
  };
}

const opts = parseArgs(process.argv.slice(2));
if (opts.version) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}
if (!opts.standardJson) fail('nothing to do: pass --version or --standard-json');

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: makeImportCallback(opts) }));
