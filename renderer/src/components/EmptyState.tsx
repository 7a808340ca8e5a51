import type { ReactNode } from 'react';

/** What a new user sees where there is nothing yet: what this place is for and the one thing to do. */
export function EmptyState(props: { title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty-state">
      <h2>{props.title}</h2>
      <div className="muted">{props.children}</div>
      {props.action ? <div className="empty-action">{props.action}</div> : null}
    </div>
  );
}
