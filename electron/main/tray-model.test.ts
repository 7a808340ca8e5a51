import { describe, expect, it } from 'vitest';
import type { ServerInfo } from '../../shared/servers.js';
import { notificationFor, quitQuestion, trayIconState, trayMenu, trayTooltip } from './tray-model.js';

function server(name: string, status: ServerInfo['status'], extra: Partial<ServerInfo> = {}): ServerInfo {
  const id = `00000000-0000-4000-8000-${String(name.length).padStart(12, '0')}`;
  return {
    id,
    name,
    server_type: 'llamacpp',
    status,
    host: '127.0.0.1',
    port: 8080,
    base_url: 'http://127.0.0.1:8080',
    openai_base_url: 'http://127.0.0.1:8080/v1',
    model_name: name,
    model_id: id,
    model_path: '/m',
    restarts: 0,
    auto_restart: false,
    ...extra,
  };
}

describe('tray icon and tooltip', () => {
  it.each([
    [[], 'idle'],
    [[server('a', 'stopped')], 'idle'],
    [[server('a', 'running'), server('bb', 'stopped')], 'running'],
    [[server('a', 'starting')], 'running'],
    [[server('a', 'running'), server('bb', 'crashed')], 'error'],
    [[server('a', 'failed')], 'error'],
  ] as const)('%j -> %s', (servers, state) => {
    expect(trayIconState([...servers])).toBe(state);
  });

  it('counts running servers', () => {
    expect(trayTooltip([])).toBe('Berth: no servers running');
    expect(trayTooltip([server('a', 'running'), server('bb', 'running'), server('ccc', 'stopped')])).toBe(
      'Berth: 2 servers running',
    );
  });
});

describe('tray menu', () => {
  it('lists each server with status and controls, sorted by name', () => {
    const menu = trayMenu([server('zeta', 'stopped', { port: 8081 }), server('alpha', 'running')], 'alpha');
    expect(menu[0]!.label).toBe('● alpha (llamacpp, running) :8080');
    expect(menu[1]!.label).toBe('○ zeta (llamacpp, stopped) :8081');
    const alpha = menu[0]!.submenu!;
    expect(alpha.map((i) => [i.label, i.enabled ?? true])).toEqual([
      ['Stop', true],
      ['Restart', true],
      ['Copy URL', true],
      ['Open logs', true],
    ]);
    expect(alpha[2]!.action).toEqual({ kind: 'copy-url', url: 'http://127.0.0.1:8080/v1' });
    const zeta = menu[1]!.submenu!;
    expect(zeta[0]).toMatchObject({ label: 'Stop', enabled: false });
    expect(zeta[1]!.label).toBe('Start');
    expect(menu.map((i) => i.label)).toEqual(
      expect.arrayContaining(['Deploy again: alpha', 'Show Berth', 'Quit Berth']),
    );
  });

  it('says there are no servers and disables Deploy again before any deployment', () => {
    const menu = trayMenu([]);
    expect(menu[0]).toEqual({ label: 'No servers', enabled: false });
    expect(menu.find((i) => i.action?.kind === 'deploy-again')?.enabled).toBe(false);
  });
});

describe('notifications', () => {
  it('fires when a server becomes ready, not on every status event', () => {
    const before = server('a', 'starting');
    const known = new Map([[before.id, before]]);
    const ready = notificationFor({ type: 'server.status', server: server('a', 'running') }, known);
    expect(ready).toEqual({ title: 'a is ready', body: 'http://127.0.0.1:8080/v1' });
    const again = notificationFor(
      { type: 'server.status', server: server('a', 'running') },
      new Map([[before.id, server('a', 'running')]]),
    );
    expect(again).toBeUndefined();
  });

  it('says whether a crashed server will be restarted', () => {
    const id = server('a', 'crashed').id;
    expect(
      notificationFor(
        { type: 'server.crashed', server_id: id, name: 'a', will_restart: true, restart_in_ms: 4000 },
        new Map(),
      ),
    ).toEqual({
      title: 'a crashed',
      body: 'Restarting in 4 s.',
    });
    expect(
      notificationFor({ type: 'server.crashed', server_id: id, name: 'a', will_restart: false }, new Map())
        ?.body,
    ).toContain('Auto-restart is off');
  });

  it('announces a finished conversion', () => {
    expect(
      notificationFor(
        {
          type: 'deployment.stage',
          deployment_id: '00000000-0000-4000-8000-000000000001',
          stage: 'quantize',
          state: 'done',
        },
        new Map(),
      )?.title,
    ).toBe('Conversion finished');
  });

  it('announces the measured quality with its verdict, and not a skipped measurement', () => {
    const stage = (state: 'done' | 'skipped', detail?: string) =>
      notificationFor(
        {
          type: 'deployment.stage',
          deployment_id: '00000000-0000-4000-8000-000000000001',
          stage: 'quality',
          state,
          ...(detail ? { detail } : {}),
        },
        new Map(),
      );
    expect(stage('done', 'Q4_K_M: top-1 agreement 94 %, KL 0.031, PPL +2.1 %')).toEqual({
      title: 'Quality measured',
      body: 'Q4_K_M: top-1 agreement 94 %, KL 0.031, PPL +2.1 %',
    });
    expect(stage('skipped', 'vLLM serves the checkpoint itself')).toBeUndefined();
  });
});

describe('quit', () => {
  it('asks only when servers run and the user did not keep them', () => {
    expect(quitQuestion([server('a', 'stopped')], false)).toBeUndefined();
    expect(quitQuestion([server('a', 'running')], true)).toBeUndefined();
    expect(quitQuestion([server('a', 'running'), server('bb', 'starting')], false)).toBe(
      '2 servers are running (a, bb). Stop them and quit?',
    );
  });
});
