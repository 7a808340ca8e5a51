// `npm start`: the Electron app where its binary is installed, else headless mode in the browser.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function electronBinary() {
  try {
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(require.resolve('electron/package.json'));
    const pathFile = join(pkgDir, 'path.txt');
    if (!existsSync(pathFile)) return undefined;
    const exe = join(pkgDir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(exe) ? exe : undefined;
  } catch {
    return undefined;
  }
}

const exe = process.env.BERTH_HEADLESS ? undefined : electronBinary();
const [cmd, args] = exe
  ? [exe, [root, ...process.argv.slice(2)]]
  : [process.execPath, [join(root, 'bin', 'berth.js'), 'serve', ...process.argv.slice(2)]];
if (!exe && !process.env.BERTH_HEADLESS) {
  process.stderr.write(
    'Electron is not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD?): starting Berth headless in your browser instead.\n',
  );
}
const child = spawn(cmd, args, { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
