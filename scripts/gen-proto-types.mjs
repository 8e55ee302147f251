// Generates TypeScript types for every .proto LedgerMQ loads (the official v2 protos shipped in
// rocketmq-client-nodejs and our internal ones) into lib/gen/, then adds the `.js` extensions that
// Node's ESM resolution needs to the generated relative imports. lib/gen/ is not committed.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const root = dirname(dirname(new URL(import.meta.url).pathname));
const v2Root = join(dirname(require.resolve('rocketmq-client-nodejs/package.json')), 'proto');
const ourRoot = join(root, 'lib/protocol/proto');
const outDir = join(root, 'lib/gen');
const bin = join(root, 'node_modules/.bin/proto-loader-gen-types');
const common = ['--longs=String', '--enums=String', '--defaults', '--oneofs', '--grpcLib=@grpc/grpc-js'];

rmSync(outDir, { recursive: true, force: true });
execFileSync(bin, [...common, '-I', v2Root, '-O', join(outDir, 'v2'), 'apache/rocketmq/v2/service.proto'], { stdio: 'inherit' });
execFileSync(bin, [...common, '-I', ourRoot, '-O', join(outDir, 'internal'),
  'ledgermq/v1/broker.proto', 'ledgermq/v1/namesrv.proto'], { stdio: 'inherit' });
// Raft messages carry many u64 fields on a hot path: numbers, not strings (all stay below 2^53).
execFileSync(bin, [...common.map((option) => (option === '--longs=String' ? '--longs=Number' : option)), '-I', ourRoot, '-O', join(outDir, 'raft'),
  'ledgermq/raft/v1/raft.proto'], { stdio: 'inherit' });

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts')) {
      const text = readFileSync(path, 'utf8').replace(/from '(\.{1,2}\/[^']*)'/g, "from '$1.js'");
      writeFileSync(path, text);
    }
  }
}
walk(outDir);
