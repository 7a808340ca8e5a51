import { useEffect, useState } from 'react';
import { getApi } from '../../api/index.js';
import { ErrorNote } from '../ErrorNote.js';

/** The local API's token for scripts: hidden until asked, copyable, replaceable. */
export function ApiTokenField() {
  const [token, setToken] = useState<string>();
  const [shown, setShown] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    getApi().settings.token().then(setToken, setError);
  }, []);
  const regenerate = async () => {
    setConfirm(false);
    try {
      setToken(await getApi().settings.regenerateToken());
      setShown(true);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="token-field">
      <ErrorNote error={error} />
      <div className="row">
        <span className="visually-hidden">API token: </span>
        <code>{token ? (shown ? token : '•'.repeat(24)) : '…'}</code>
        <button type="button" className="secondary small" onClick={() => setShown(!shown)}>
          {shown ? 'Hide' : 'Show'}
        </button>
        <button
          type="button"
          className="secondary small"
          disabled={!token}
          onClick={() => {
            void navigator.clipboard?.writeText(token ?? '');
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        {confirm ? (
          <span className="confirm">
            Scripts using the old token stop working.{' '}
            <button type="button" className="danger small" onClick={regenerate}>
              Regenerate
            </button>{' '}
            <button type="button" className="secondary small" onClick={() => setConfirm(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" className="secondary small" onClick={() => setConfirm(true)}>
            Regenerate…
          </button>
        )}
      </div>
      <span className="why">
        Send it as <code>Authorization: Bearer &lt;token&gt;</code>; it is also in the data folder&apos;s{' '}
        <code>api-token</code> file.
      </span>
    </div>
  );
}
