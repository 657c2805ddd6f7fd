import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { Network, namespacesUnavailable, PREFIX, sweepLeftovers } from './net.js';

const run = promisify(execFile);
const unavailable = await namespacesUnavailable();

/**
 * Whether a TCP connection from `from` reaches `to` (port 9 has no listener: a refusal proves
 * the packets went both ways) or is dropped (no answer within the timeout).
 */
async function reaches(network: Network, from: string, to: string): Promise<boolean> {
  const script = `const s = require('net').connect(9, '${network.address(to)}');
s.on('error', (e) => { console.log(e.code); process.exit(0); });
s.on('connect', () => { console.log('connected'); process.exit(0); });
setTimeout(() => { console.log('dropped'); process.exit(0); }, 700);`;
  const { stdout } = await run('ip', ['netns', 'exec', network.namespace(from), process.execPath, '-e', script]);
  return stdout.trim() !== 'dropped';
}

async function namespaces(): Promise<string[]> {
  return (await run('ip', ['netns', 'list'])).stdout.split('\n').map((line) => line.split(' ')[0]!).filter(Boolean);
}

if (unavailable !== undefined) {
  test('network hosts are network namespaces', (t) => t.fail(`cannot make them: ${unavailable}; run npm test as root`));
} else {
  test.serial('hosts reach each other over the bridge; link down and a partition cut them, link up and heal restore them; teardown leaves nothing', async (t) => {
    const network = await Network.create(['one', 'two', 'three']);
    t.teardown(() => network.teardown());
    t.true(await reaches(network, 'one', 'two'), 'one reaches two');

    await network.linkDown('two');
    t.false(await reaches(network, 'one', 'two'), 'two is cut off while its link is down');
    t.true(await reaches(network, 'one', 'three'), 'the others still talk');
    await network.linkUp('two');
    t.true(await reaches(network, 'one', 'two'), 'two is back once its link is up');

    const partition = await network.partition(['one'], ['two']);
    t.false(await reaches(network, 'one', 'two'), 'one does not reach two across the partition');
    t.false(await reaches(network, 'two', 'one'), 'nor two one');
    t.true(await reaches(network, 'two', 'three'), 'two still reaches three');
    t.true(await reaches(network, 'one', 'three'), 'one still reaches three');
    await partition.heal();
    t.true(await reaches(network, 'one', 'two'), 'healed');

    await network.teardown();
    t.deepEqual((await namespaces()).filter((ns) => ns.startsWith(`${PREFIX}${process.pid}-`)), [], 'no namespace of this run is left');
  });

  test.serial('the start-up sweep removes namespaces of runs whose process is gone, and no other', async (t) => {
    const { pid: deadPid } = await new Promise<{ pid: number }>((resolve) => {
      const child = execFile(process.execPath, ['-e', '']);
      child.on('exit', () => resolve({ pid: child.pid! }));
    });
    const leftover = `${PREFIX}${deadPid}-feed`;
    await run('ip', ['netns', 'add', leftover]);
    const network = await Network.create(['alive']);
    t.teardown(async () => {
      await network.teardown();
      await run('ip', ['netns', 'del', leftover]).catch(() => undefined);
    });
    t.true((await sweepLeftovers()).includes(leftover), 'the dead run\'s namespace is reported swept');
    const left = await namespaces();
    t.false(left.includes(leftover), 'and is gone');
    t.true(left.includes(network.namespace('alive')), 'this run\'s namespaces stay');
  });
}
