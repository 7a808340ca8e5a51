import type { BrowseResult, Job } from './checkpoints.js';
import type { ConversionCacheEntry, ConverterEnv } from './conversion.js';
import type { DeployRequest, DeployResponse } from './deploy.js';
import type { BerthEvent } from './events.js';
import type { CompareRequest, CompareResult, QualityJobProgress, QualityReport } from './quality.js';
import type { LogLine, ServerInfo } from './servers.js';
import type { AppInfo, ExecutableSetting, PendingSetting, Settings, SettingsPatch } from './settings.js';
import type { Recommendation, RecommendRequest, SystemReport } from './system.js';

/** The handle of a deployment started without waiting; follow it with `onEvent`. */
export interface DeploymentHandle {
  deployment_id: string;
}

/** What shared/ may say about an AbortSignal (it has neither DOM nor Node types); a real one fits. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** One playground chat turn sent to a server through Berth (so it works over an SSH tunnel too). */
export interface ChatRequest {
  messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  max_tokens?: number;
  temperature?: number;
  /** Ask the server's bare base model instead of its adapter (servers with a `base_model_name`). */
  base?: boolean;
}

/** How a streamed reply went: its text and speed. */
export interface ChatResult {
  text: string;
  completion_tokens: number;
  first_token_ms: number;
  tokens_per_second: number;
}

/**
 * Everything the window may ask of Berth. Two transports implement it: the Electron preload
 * (`window.berth`, over IPC) and the HTTP + SSE bridge (headless mode in a browser). The renderer is written
 * against this interface only, so it cannot tell which one it has.
 * Every method rejects with an Error whose `code`, `message` and `hint` follow shared/errors.ts.
 */
export interface BerthApi {
  /** Quality reports and compare-quants (aborting `signal` cancels the run). */
  quality: {
    compare(
      request: CompareRequest,
      onProgress?: (p: QualityJobProgress) => void,
      signal?: AbortSignalLike,
    ): Promise<CompareResult>;
    reports(modelPath: string): Promise<QualityReport[]>;
  };
  app: {
    info(): Promise<AppInfo>;
  };
  settings: {
    get(): Promise<Settings>;
    update(patch: SettingsPatch): Promise<Settings>;
    /** Programs named over the HTTP API that wait for the user to apply them here. */
    pending(): Promise<PendingSetting[]>;
    applyPending(key: ExecutableSetting): Promise<Settings>;
    discardPending(key: ExecutableSetting): Promise<void>;
    /** The local API's bearer token (for scripts). */
    token(): Promise<string>;
    /** Replaces the token; the old one stops working at once. */
    regenerateToken(): Promise<string>;
  };
  conversions: {
    /** Whether the converter's Python is ready, which one, and what is missing. */
    env(): Promise<ConverterEnv>;
    /** Creates Berth's own converter environment; progress arrives as converter.setup events. */
    setup(): Promise<void>;
    cache(): Promise<ConversionCacheEntry[]>;
    removeCached(id: string): Promise<void>;
  };
  jobs: {
    register(path: string): Promise<Job>;
    list(): Promise<Job[]>;
    get(id: string): Promise<Job>;
    remove(id: string): Promise<void>;
    /** Lists a folder for the path picker (confined to home and configured roots). */
    browse(path?: string): Promise<BrowseResult>;
    /** Opens the native folder dialog where there is one; resolves undefined in a browser. */
    pickFolder(): Promise<string | undefined>;
    /**
     * The real path of a dropped file or folder (a DOM File) where the transport knows it (Electron);
     * undefined in a browser, which hides paths: there the user types or browses to the folder.
     */
    pathForDrop(file: unknown): string | undefined;
  };
  system: {
    get(options?: { refresh?: boolean }): Promise<SystemReport>;
    /** What fits where for a checkpoint (job_id or model_path, checkpoint_path?, context_length?). */
    recommend(request: RecommendRequest): Promise<Recommendation>;
  };
  deployments: {
    /** Starts a deployment and resolves at once with its id. */
    start(request: DeployRequest): Promise<DeploymentHandle>;
    /** Resolves when the deployment's server is running. */
    wait(deploymentId: string): Promise<DeployResponse>;
    cancel(deploymentId: string): Promise<void>;
    /** Stops a deployment's quality measurement only: the server starts without a report. */
    skipQuality(deploymentId: string): Promise<void>;
  };
  servers: {
    list(): Promise<ServerInfo[]>;
    stop(id: string): Promise<ServerInfo>;
    restart(id: string): Promise<ServerInfo>;
    remove(id: string): Promise<void>;
    logs(id: string, tail?: number): Promise<LogLine[]>;
    /** Streams a chat reply from a running server; `onDelta` gets each piece of text as it arrives. */
    chat(
      id: string,
      request: ChatRequest,
      onDelta: (text: string) => void,
      signal?: AbortSignalLike,
    ): Promise<ChatResult>;
  };
  /** Subscribes to every core event; returns the unsubscribe function. */
  onEvent(listener: (event: BerthEvent) => void): () => void;
}
