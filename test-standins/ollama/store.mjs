// Part of the Ollama stand-in (tests only; NOT Ollama): blobs and manifests under OLLAMA_MODELS.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `name` -> `name:latest`, as Ollama names models. */
export function fullName(name) {
  return name.includes(':') ? name : `${name}:latest`;
}

export class Store {
  constructor(root) {
    this.root = root;
    this.blobs = join(root, 'blobs');
    this.manifests = join(root, 'manifests', 'berth-standin');
    mkdirSync(this.blobs, { recursive: true });
    mkdirSync(this.manifests, { recursive: true });
  }
  blobPath(hex) {
    return join(this.blobs, `sha256-${hex}`);
  }
  manifestPath(name) {
    return join(this.manifests, encodeURIComponent(fullName(name)));
  }
  read(name) {
    const path = this.manifestPath(name);
    return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
  }
  write(manifest) {
    writeFileSync(this.manifestPath(manifest.name), JSON.stringify(manifest));
  }
  remove(name) {
    rmSync(this.manifestPath(name));
  }
  list() {
    return readdir(this.manifests).map((file) =>
      JSON.parse(readFileSync(join(this.manifests, file), 'utf8')),
    );
  }
}

export function readdir(dir) {
  return existsSync(dir) ? readdirSync(dir) : [];
}
