import { useEffect, useState } from 'react';
import type { BrowseResult } from '../../../../shared/checkpoints.js';
import { getApi } from '../../api/index.js';
import { ErrorNote } from '../ErrorNote.js';

/** A folder or file glyph drawn inline (emoji fonts are missing on many Linux machines). */
function EntryIcon(props: { dir: boolean }) {
  return (
    <svg className="ckpt-entry-icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      {props.dir ? (
        <path d="M1 3.5A1.5 1.5 0 0 1 2.5 2h3l1.5 1.5h6.5A1.5 1.5 0 0 1 15 5v7.5a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 1 12.5z" />
      ) : (
        <path d="M3 1.5h6.5L13 5v9.5H3zM9 1.5V5.5h4" />
      )}
    </svg>
  );
}

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
        {listing && listing.roots.length > 1 ? (
          <nav className="ckpt-places" aria-label="Places">
            {listing.roots.map((r) => (
              <button key={r} type="button" className="secondary" onClick={() => go(r)} title={r}>
                {r.split('/').filter(Boolean).pop() ?? r}
              </button>
            ))}
          </nav>
        ) : null}
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
                <EntryIcon dir={e.is_dir} /> {e.name}
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
