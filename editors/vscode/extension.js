'use strict';
// The VS Code side of pbtnas. Highlighting needs no code (package.json declares the TextMate grammar); this file
// starts the language server, `pbtnas lsp` over stdio, for .nas files, and restarts it when its settings change.
// Plain CommonJS on purpose: the folder installs as it is, without a build step.

const path = require('path');
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

const SECTION = 'pbtnas';
let client = null;

/** The first workspace folder's path, against which a relative server command is read. */
function workspaceRoot() {
  const folders = vscode.workspace.workspaceFolders;
  return folders && folders.length ? folders[0].uri.fsPath : undefined;
}

/** The command and arguments the settings ask for, `${workspaceFolder}` and relative paths resolved. */
function serverCommand(config) {
  const root = workspaceRoot();
  let command = String(config.get('server.command', 'pbtnas') || 'pbtnas').trim();
  const args = (config.get('server.args', ['lsp']) || []).map(String);
  if (root) {
    command = command.split('${workspaceFolder}').join(root);
    // A bare name (`pbtnas`) is looked up on PATH; a relative path (`.venv/bin/pbtnas`) is the workspace's.
    if (command.includes('/') || command.includes('\\')) {
      command = path.resolve(root, command);
    }
  }
  return { command, args, cwd: root };
}

async function start(context) {
  const config = vscode.workspace.getConfiguration(SECTION);
  if (!config.get('server.enabled', true)) {
    return;
  }
  const { command, args, cwd } = serverCommand(config);
  const serverOptions = { command, args, options: cwd ? { cwd } : {} };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'nas' },
      { scheme: 'untitled', language: 'nas' },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.nas') },
    outputChannelName: 'pbtnas',
  };
  // The id `pbtnas` is what makes the `pbtnas.trace.server` setting work.
  client = new LanguageClient(SECTION, 'pbtnas language server', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    client = null;
    const shown = [command, ...args].join(' ');
    const choice = await vscode.window.showErrorMessage(
      `pbtnas: the language server did not start (\`${shown}\`): ${err && err.message ? err.message : err}. ` +
        'Set "pbtnas.server.command" to the pbtnas of the environment where pbtnas is installed ' +
        '(for example .venv/bin/pbtnas).',
      'Open Settings'
    );
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'pbtnas.server');
    }
  }
}

async function stop() {
  if (client) {
    const running = client;
    client = null;
    await running.stop();
  }
}

async function restart(context) {
  await stop();
  await start(context);
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('pbtnas.restartServer', () => restart(context)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('pbtnas.server')) {
        return restart(context);
      }
      return undefined;
    })
  );
  await start(context);
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate, serverCommand };
