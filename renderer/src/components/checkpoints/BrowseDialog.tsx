import { useEffect, useState } from 'react';
import type { BrowseResult } from '../../../../shared/checkpoints.js';
import { getApi } from '../../api/index.js';
import { ErrorNote } from '../ErrorNote.js';

/**
 * A small folder picker served by the core (a browser has no native dialog): home and the configured roots
 * only. Folders that are models or runs are marked and can be opened directly.
 */
export function BrowseDialog(props: { onPick(path: string): void; onClose(): void }) {
  const [listing, setListing] = useState<BrowseResult>();
  const [error, setError] = useState<unknown>();
  const go = (path?: string) => {
    setError(undefined);
    getApi().jobs.browse(path).then(setListing, setError);
  };
  useEffect(() => {
    getApi().jobs.browse().then(setListing, setError);
  }, []);
  return (
    <div className="ckpt-dialog-backdrop">
      <dialog open className="ckpt-dialog" aria-label="Choose a folder">
        <header>
          <strong>Choose a folder</strong>
          <span className="muted mono ckpt-dialog-path">{listing?.path ?? '…'}</span>
        </header>
        {error ? <ErrorNote error={error} /> : null}
        <ul className="ckpt-browse-list">
          {listing?.parent ? (
            <li>
              <button type="button" className="linklike" onClick={() => go(listing.parent)}>
                ↑ ..
              </button>
            </li>
          ) : null}
          {listing?.entries.map((e) => (
            <li key={e.path}>
              <button
                type="button"
                className="linklike"
                onClick={() => (e.is_dir ? go(e.path) : props.onPick(e.path))}
              >
                {e.is_dir ? '📁' : '📄'} {e.name}
              </button>
              {e.is_model ? (
                <button type="button" className="ckpt-open-small" onClick={() => props.onPick(e.path)}>
                  Open
                </button>
              ) : null}
            </li>
          ))}
          {listing && listing.entries.length === 0 ? <li className="muted">No folders here.</li> : null}
          {listing?.truncated ? <li className="muted">More entries not shown.</li> : null}
        </ul>
        <footer>
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" disabled={!listing} onClick={() => listing && props.onPick(listing.path)}>
            Open this folder
          </button>
        </footer>
      </dialog>
    </div>
  );
}
