/** An error as Berth reports it: message first, the hint below. */
export function ErrorNote(props: { error: unknown }) {
  const e = props.error as { code?: string; message?: string; hint?: string } | undefined;
  if (!e) return null;
  return (
    <div className="error-note" role="alert">
      <strong>{e.message ?? String(props.error)}</strong>
      {e.code ? <span className="code">{e.code}</span> : null}
      {e.hint ? <div className="hint">{e.hint}</div> : null}
    </div>
  );
}
