import { describe, expect, it } from 'vitest';
import { parseRocmPids } from './gpu-processes.js';

// rocm-smi --showpids --json: the layout rocm_smi.py's print2DArray writes (name, GPUs, VRAM bytes, SDMA, CU,
// joined with ", " after lowercasing). No AMD capture with processes exists in the fixtures.
describe('rocm-smi --showpids --json', () => {
  it('reads pid and VRAM bytes, names with spaces included', () => {
    const text = JSON.stringify({
      system: {
        PID4242: 'python3, 1, 8589934592, 0, 41',
        PID77: 'ollama, runner, 2, 1073741824, 4096, 12',
        'some other key': 'x',
      },
    });
    expect(parseRocmPids(text)).toEqual({
      items: [
        { pid: 4242, used_bytes: 8589934592, name: 'python3' },
        { pid: 77, used_bytes: 1073741824, name: 'ollama runner' },
      ],
      warnings: [],
    });
  });

  it('no KFD processes, garbage, and unknown values give warnings, never a throw', () => {
    expect(parseRocmPids('{}').items).toEqual([]);
    expect(parseRocmPids('not json').warnings).toHaveLength(1);
    expect(
      parseRocmPids(JSON.stringify({ system: { PID1: 'x, unknown, unknown, unknown, unknown' } })).warnings,
    ).toHaveLength(1);
  });
});
