import { Producer } from './dist/lib/client/index.js';
const p = new Producer({ nameServers: ['127.0.0.1:23000'] });
for (let i = 0; i < 20; i++) await p.send({ topic: 'MetricsT', body: 'x'.repeat(100) });
await p.close?.(); process.exit(0);
