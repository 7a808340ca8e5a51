import { type FormEvent, type RefObject, useState } from 'react';

/** The path field: type or paste a folder (or .gguf) path, open it; or browse for one. */
export function PathBar(props: {
  busy: boolean;
  inputRef: RefObject<HTMLInputElement | null>;
  onOpen(path: string): void;
  onBrowse(): void;
}) {
  const [path, setPath] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (path.trim()) props.onOpen(path.trim());
  };
  return (
    <form className="ckpt-pathbar" onSubmit={submit}>
      <label htmlFor="ckpt-path" className="visually-hidden">
        Folder or GGUF file path
      </label>
      <input
        id="ckpt-path"
        ref={props.inputRef}
        type="text"
        spellCheck={false}
        placeholder="/path/to/training/output (a run, a model folder, an adapter or a .gguf)"
        value={path}
        onChange={(e) => setPath(e.target.value)}
      />
      <button type="submit" disabled={props.busy || !path.trim()}>
        {props.busy ? 'Inspecting…' : 'Open'}
      </button>
      <button type="button" className="secondary" onClick={props.onBrowse}>
        Browse…
      </button>
    </form>
  );
}
