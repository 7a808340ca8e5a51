import { resolve } from 'node:path';
import { QuantizationSchema } from '../../../../shared/deploy.js';
import type { Progress } from '../../../../shared/events.js';
import { systemClock } from '../../clock.js';
import { createConversionService } from '../../conversion/service.js';
import { toErrorShape } from '../../errors.js';
import { EventBus } from '../../events.js';
import { berthPaths, resolveHome } from '../../paths.js';
import { SettingsService } from '../../settings/settings.js';
import { createFileStore } from '../../settings/store.js';
import type { Command } from '../command.js';
import { type CliIo, formatBytes, printError } from '../output.js';

const USAGE = 'berth convert <model_path> <out.gguf> [--quantization Q4_K_M] [--json]';

/** `berth convert`: HF folder -> GGUF in-process (no running Berth needed), with the same converter as deploys. */
export const convertCommand: Command = {
  name: 'convert',
  summary: 'Convert a Hugging Face model folder to GGUF (F16, BF16, Q8_0, Q5_K_M, Q4_K_M)',
  usage: USAGE,
  options: { quantization: { type: 'string' } },
  async run(args, io, env) {
    const json = Boolean(args.values.json);
    const [modelPath, outPath] = args.positionals;
    const quantization = QuantizationSchema.safeParse(args.values.quantization ?? 'F16');
    if (!modelPath || !outPath || args.positionals.length > 2 || !quantization.success) {
      io.err(`usage: ${USAGE}\n  --quantization one of ${QuantizationSchema.options.join(', ')}\n`);
      return 2;
    }
    const paths = berthPaths(resolveHome(env));
    const settings = new SettingsService(createFileStore(paths.settingsDir), new EventBus());
    const conversion = createConversionService({ paths, settings, clock: systemClock, env });
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const bar = progressBar(io);
    try {
      const result = await conversion.convertTo({
        modelPath: resolve(modelPath),
        outPath: resolve(outPath),
        quantization: quantization.data,
        signal: abort.signal,
        onProgress: (p) => (json ? io.out(`${JSON.stringify({ event: 'progress', ...p })}\n`) : bar(p)),
        onLog: (line, stream) => {
          if (json) io.out(`${JSON.stringify({ event: 'log', stream, line })}\n`);
          else if (!io.isTty) io.err(`${line}\n`);
        },
      });
      if (json)
        io.out(`${JSON.stringify({ success: true, gguf_path: result.ggufPath, bytes: result.bytes })}\n`);
      else io.out(`${io.isTty ? '\n' : ''}Wrote ${result.ggufPath} (${formatBytes(result.bytes)})\n`);
      return 0;
    } catch (error) {
      if (!json && io.isTty) io.err('\n');
      printError(io, toErrorShape(error), json);
      return 1;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

/** One redrawn line on a terminal: stage, bar, bytes, ETA. Silent when stdout is not a TTY. */
function progressBar(io: CliIo): (p: Progress) => void {
  return (p) => {
    if (!io.isTty || p.total <= 0) return;
    const frac = Math.min(1, p.done / p.total);
    const width = 30;
    const filled = Math.round(frac * width);
    const eta = p.eta_s === undefined ? '' : ` eta ${Math.ceil(p.eta_s)}s`;
    io.out(
      `\r${p.stage.padEnd(8)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(p.done)} / ${formatBytes(p.total)}${eta}   `,
    );
  };
}
