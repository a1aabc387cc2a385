'use strict';
// Runs editors/vscode/extension.js under node with stand-ins for the `vscode` API and `vscode-languageclient`, and
// checks what it asks of them: the server command from the settings, the documents it serves, the restart on a
// settings change, and the message when the server cannot start. Run by tests/editors/test_vscode_package.py.

const assert = require('assert');
const Module = require('module');
const path = require('path');

const state = { settings: {}, clients: [], messages: [], commands: {}, executed: [], listeners: [], failStart: null,
  choice: undefined };

class FakeClient {
  constructor(id, name, serverOptions, clientOptions) {
    Object.assign(this, { id, name, serverOptions, clientOptions, started: false, stopped: false });
    state.clients.push(this);
  }
  async start() {
    if (state.failStart) throw new Error(state.failStart);
    this.started = true;
  }
  async stop() { this.stopped = true; }
}

const vscode = {
  workspace: {
    workspaceFolders: [{ uri: { fsPath: '/ws' } }],
    getConfiguration(section) {
      assert.strictEqual(section, 'pbtnas');
      return { get: (key, fallback) => (key in state.settings ? state.settings[key] : fallback) };
    },
    createFileSystemWatcher: (glob) => ({ glob }),
    onDidChangeConfiguration(listener) { state.listeners.push(listener); return { dispose() {} }; },
  },
  window: {
    async showErrorMessage(text, ...items) { state.messages.push({ text, items }); return state.choice; },
  },
  commands: {
    registerCommand(name, fn) { state.commands[name] = fn; return { dispose() {} }; },
    async executeCommand(...args) { state.executed.push(args); },
  },
};

const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'vscode') return vscode;
  if (request === 'vscode-languageclient/node') return { LanguageClient: FakeClient };
  return load.call(this, request, parent, isMain);
};

const extension = require(path.resolve(__dirname, '../../editors/vscode/extension.js'));
const last = () => state.clients[state.clients.length - 1];
const change = (affected) => Promise.all(state.listeners.map((l) => l({ affectsConfiguration: (s) => affected.startsWith(s) })));

(async () => {
  const context = { subscriptions: [] };
  await extension.activate(context);
  let c = last();
  assert.strictEqual(state.clients.length, 1);
  assert.strictEqual(c.id, 'pbtnas');  // the id that makes `pbtnas.trace.server` work
  assert.deepStrictEqual([c.serverOptions.command, c.serverOptions.args], ['pbtnas', ['lsp']]);
  assert.strictEqual(c.serverOptions.options.cwd, '/ws');
  assert.ok(c.started);
  assert.deepStrictEqual(c.clientOptions.documentSelector.map((d) => d.language), ['nas', 'nas']);
  assert.strictEqual(c.clientOptions.synchronize.fileEvents.glob, '**/*.nas');
  assert.ok(typeof state.commands['pbtnas.restartServer'] === 'function');
  assert.strictEqual(context.subscriptions.length, 2);

  // A relative path is the workspace's; `${workspaceFolder}` is substituted; a settings change restarts.
  state.settings = { 'server.command': '.venv/bin/pbtnas' };
  await change('pbtnas.server.command');
  assert.ok(c.stopped);
  c = last();
  assert.strictEqual(state.clients.length, 2);
  assert.strictEqual(c.serverOptions.command, '/ws/.venv/bin/pbtnas');
  state.settings = { 'server.command': '${workspaceFolder}/env/bin/python', 'server.args': ['-m', 'pbtnas.lsp'] };
  await change('pbtnas.server');
  c = last();
  assert.deepStrictEqual([c.serverOptions.command, c.serverOptions.args], ['/ws/env/bin/python', ['-m', 'pbtnas.lsp']]);
  await change('editor.fontSize');  // not ours: no restart
  assert.strictEqual(state.clients.length, 3);

  // The restart command; then a server that cannot start: a message naming the command and the setting to fix.
  await state.commands['pbtnas.restartServer']();
  assert.strictEqual(state.clients.length, 4);
  state.settings = { 'server.command': 'nonexistent-pbtnas' };
  state.failStart = 'spawn nonexistent-pbtnas ENOENT';
  state.choice = 'Open Settings';
  await change('pbtnas.server.command');
  assert.strictEqual(state.messages.length, 1);
  const { text, items } = state.messages[0];
  assert.ok(text.includes('`nonexistent-pbtnas lsp`') && text.includes('ENOENT') && text.includes('pbtnas.server.command'), text);
  assert.deepStrictEqual(items, ['Open Settings']);
  assert.deepStrictEqual(state.executed, [['workbench.action.openSettings', 'pbtnas.server']]);

  // Disabled: no server at all; deactivate stops a running one.
  state.failStart = null;
  state.settings = { 'server.enabled': false };
  await change('pbtnas.server.enabled');
  assert.strictEqual(state.clients.length, 5);
  state.settings = {};
  await change('pbtnas.server.enabled');
  assert.strictEqual(state.clients.length, 6);
  await extension.deactivate();
  assert.ok(last().stopped);
  console.log('extension smoke: all checks passed');
})().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
