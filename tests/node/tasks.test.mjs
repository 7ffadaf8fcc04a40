// Tasks (the tasks extension, 2026-07-28) as a client sees them, in process and in the Lambda
// lane (where each run is an invocation of the task-worker function): a task started on one
// connection is collected from another; a cancel from another connection is final; and, in
// the lane, a worker killed mid-task leaves its task `failed` once its lease lapses, never
// `working`. The reference server's `survey` reads one source a second.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import { startGateway, laneArgs } from './lib/gateway.mjs';
import { HttpClient, WsClient, CLIENT_CAPABILITIES, META_CAPS } from './lib/stateless.mjs';

const TASKS = 'io.modelcontextprotocol/tasks';
const LEASE_SECONDS = 10;
const inLane = laneArgs().includes('--functions');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** `_meta` of a client that declares the tasks extension. */
const withTasks = { [META_CAPS]: { ...CLIENT_CAPABILITIES, extensions: { [TASKS]: {} } } };

let gw;
before(async () => {
  gw = await startGateway({ instances: 3, args: ['--task-lease-seconds', String(LEASE_SECONDS)] });
});
after(async () => { await gw?.stop(); });

async function startSurvey(client, sources) {
  const { response } = await client.request('tools/call', {
    name: 'survey', arguments: { topic: 'tides', sources }, _meta: withTasks,
  });
  assert.equal(response.error, undefined, JSON.stringify(response.error));
  assert.equal(response.result.resultType, 'task', JSON.stringify(response.result));
  assert.equal(response.result.status, 'working');
  return response.result.taskId;
}

async function getTask(client, taskId) {
  const { response } = await client.request('tasks/get', { taskId, _meta: withTasks });
  assert.equal(response.error, undefined, JSON.stringify(response.error));
  return response.result;
}

/** Polls until `done(task)`, at most `seconds`. */
async function pollUntil(client, taskId, done, seconds, what) {
  const until = Date.now() + seconds * 1000;
  let task;
  while (Date.now() < until) {
    task = await getTask(client, taskId);
    if (done(task)) return task;
    await sleep(250);
  }
  assert.fail(`${what} within ${seconds} s; last seen: ${JSON.stringify(task)}`);
}

test('a task started over HTTP, whose client left, is collected from a WebSocket connection', async () => {
  const starter = await HttpClient.open(gw.httpUrl);
  const taskId = await startSurvey(starter, 3);
  await starter.close();
  const ws = await WsClient.open(gw.wsUrl);
  try {
    const task = await pollUntil(ws, taskId, (t) => t.status !== 'working', 60, 'the task to finish');
    assert.equal(task.status, 'completed', JSON.stringify(task));
    assert.deepEqual(task.result.structuredContent,
      { topic: 'tides', sources: 3, summary: '3 sources on tides agree to disagree' });
  } finally {
    await ws.close();
  }
});

test('a task cancelled from another connection stays cancelled', async () => {
  const ws = await WsClient.open(gw.wsUrl);
  const http = await HttpClient.open(gw.httpUrl);
  try {
    const taskId = await startSurvey(ws, 120);
    await pollUntil(http, taskId, (t) => Boolean(t.statusMessage), 30, 'the work to report progress');
    const { response } = await http.request('tasks/cancel', { taskId, _meta: withTasks });
    assert.equal(response.error, undefined, JSON.stringify(response));
    // An empty acknowledgement: nothing but the envelope every result carries.
    assert.deepEqual(Object.keys(response.result).filter((k) => k !== '_meta' && k !== 'resultType'), []);
    assert.equal((await getTask(ws, taskId)).status, 'cancelled');
    // The work was told to stop; whatever it ends with cannot overwrite the cancellation.
    await sleep(3000);
    const task = await getTask(http, taskId);
    assert.equal(task.status, 'cancelled', JSON.stringify(task));
    assert.equal(task.result, undefined);
  } finally {
    await ws.close();
  }
});

test('a task whose worker is killed mid-task fails once its lease lapses', { skip: !inLane && 'the task-worker function runs in the Lambda lane' }, async () => {
  const http = await HttpClient.open(gw.httpUrl);
  const taskId = await startSurvey(http, 300);
  // Progress is written by the worker: once it shows, the worker is running the task.
  await pollUntil(http, taskId, (t) => Boolean(t.statusMessage), 30, 'the worker to report progress');
  // SIGKILL, as Lambda ends an environment that ran out of memory or time: nothing runs after.
  execFileSync('pkill', ['-KILL', '-x', 'task-worker']);
  const task = await pollUntil(http, taskId, (t) => t.status !== 'working', LEASE_SECONDS + 30,
    'the task of a killed worker to end');
  assert.equal(task.status, 'failed', JSON.stringify(task));
  assert.match(task.error.message, /worker stopped/);
  assert.match(task.statusMessage, /worker stopped/);
  // The next task gets a new worker environment.
  const next = await startSurvey(http, 1);
  const done = await pollUntil(http, next, (t) => t.status !== 'working', 60, 'a task after the kill to finish');
  assert.equal(done.status, 'completed', JSON.stringify(done));
});
