import { getLlama, getModuleVersion, LlamaLogLevel } from 'node-llama-cpp';

/** What `engine --detect` prints as one JSON line: whether node-llama-cpp loads here, and on which GPU. */
export interface EngineProbe {
  ok: boolean;
  version: string;
  gpu: string | false;
  devices: string[];
  error?: string;
}

/** Loads node-llama-cpp's prebuilt binary (never builds) and reports what it found. */
export async function probeEngine(): Promise<EngineProbe> {
  const version = await getModuleVersion();
  try {
    const llama = await getLlama({ gpu: 'auto', build: 'never', logLevel: LlamaLogLevel.error });
    const devices = llama.gpu ? await llama.getGpuDeviceNames() : [];
    const probe = { ok: true, version, gpu: llama.gpu, devices };
    await llama.dispose();
    return probe;
  } catch (error) {
    return { ok: false, version, gpu: false, devices: [], error: (error as Error).message };
  }
}
