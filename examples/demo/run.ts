// `make demo`: one data-plane node on the embedded store (examples/config/dev.yaml), the demo
// page's server on 127.0.0.1:6080, and the producer streaming a turn every few seconds. Open the
// printed URL; reload mid-stream to see the page resume. Ctrl-C stops everything.
//
//   node examples/demo/run.ts [--page-port 6080] [--channel private-ai-demo] [--tokens 200] [--rate 30]
import { type ChildProcess, spawn } from 'node:child_process';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type DemoServer, startDemoServer } from './server.ts';

const { values } = parseArgs({
  options: {
    'page-port': { type: 'string', default: '6080' },
    channel: { type: 'string', default: 'private-ai-demo' },
    tokens: { type: 'string', default: '200' },
    rate: { type: 'string', default: '30' },
    pause: { type: 'string', default: '4' },
  },
});
const root = fileURLToPath(new URL('../../', import.meta.url));
// examples/config/dev.yaml: WS + REST on 6001, ops on 9601, app app-id / app-key / app-secret.
const config = 'examples/config/dev.yaml';
const children = new Set<ChildProcess>();
let stopping = false;
let page: DemoServer | undefined;

function start(args: string[], quiet = false): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function ready(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

const node = start(['dataplane/src/main.ts', '--config', config], true);
node.once('exit', (code) => {
  if (!stopping) {
    console.error(`demo: the data-plane node exited (${code}); is port 6001 or 9601 in use? (make run shows its log)`);
    void stop(1);
  }
});
const deadline = Date.now() + 20_000;
while (!(await ready('http://127.0.0.1:9601/readyz'))) {
  if (Date.now() > deadline || stopping) {
    console.error('demo: the data-plane node did not become ready within 20 s');
    await stop(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}
page = await startDemoServer({
  port: Number(values['page-port']),
  wsUrl: 'ws://127.0.0.1:6001',
  key: 'app-key',
  secret: 'app-secret',
  channel: values.channel as string,
});
console.log(`demo: open ${page.url} (data plane ws://127.0.0.1:6001, channel ${values.channel}); Ctrl-C stops`);

async function stop(code: number): Promise<never> {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  await page?.close();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

while (!stopping) {
  const producer = start([
    'examples/demo/producer.ts',
    '--channel',
    values.channel as string,
    '--tokens',
    values.tokens as string,
    '--rate',
    values.rate as string,
  ]);
  await new Promise((r) => producer.once('exit', r));
  await new Promise((r) => setTimeout(r, Number(values.pause) * 1000));
}
