import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ServerInfoSchema } from '../../../shared/servers.js';
import { writePrivateFile } from '../private-fs.js';

/** What Berth keeps of each server between runs: its public info plus what a restart or re-adoption needs. */
export const ServerRecordSchema = z.object({
  info: ServerInfoSchema,
  /** The PreparedModel the backend launched (paths, name, config). */
  model: z.record(z.string(), z.unknown()),
  gpus: z.string().optional(),
  /** The port the user asked for, if any (a restart keeps the chosen port either way). */
  requested_port: z.number().int().optional(),
  /** The process group Berth started the server in (its leader's pid). */
  pgid: z.number().int().optional(),
  /** Berth's own pid when it started or adopted the server, to recognise leftovers of a crashed Berth. */
  owner_pid: z.number().int().optional(),
});
export type ServerRecord = z.infer<typeof ServerRecordSchema>;

const StateFileSchema = z.object({ version: z.literal(1), servers: z.array(ServerRecordSchema) });

/** Reads the saved servers; an unreadable file is reported and treated as empty, never thrown. */
export function loadServerRecords(file: string): { records: ServerRecord[]; problem?: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { records: [] };
  }
  try {
    const parsed = StateFileSchema.safeParse(JSON.parse(text));
    if (parsed.success) return { records: parsed.data.servers };
    return { records: [], problem: `${file} has an unexpected shape: ${parsed.error.issues[0]?.message}` };
  } catch (error) {
    return { records: [], problem: `${file} is not valid JSON: ${(error as Error).message}` };
  }
}

/** Writes the servers atomically (temporary file, then rename). */
export function saveServerRecords(file: string, records: ServerRecord[]): void {
  writePrivateFile(file, JSON.stringify({ version: 1, servers: records }, null, 2));
}
