import type { Checkpoint } from '../../../../shared/checkpoints.js';
import { formatBytes, formatLoss } from '../../format.js';
import { Badges } from './Badges.js';

/** One row per checkpoint: step, losses, size, dtype and what Berth can do with it. Click to select. */
export function CheckpointTable(props: {
  checkpoints: Checkpoint[];
  selected: string | undefined;
  onSelect(relativePath: string): void;
}) {
  return (
    <table className="ckpt-table" aria-label="Checkpoints">
      <thead>
        <tr>
          <th scope="col">Checkpoint</th>
          <th scope="col" className="num">
            Step
          </th>
          <th scope="col" className="num">
            Train loss
          </th>
          <th scope="col" className="num">
            Eval loss
          </th>
          <th scope="col" className="num">
            Size
          </th>
          <th scope="col">Dtype</th>
          <th scope="col">Can</th>
        </tr>
      </thead>
      <tbody>
        {props.checkpoints.map((c) => {
          const selected = c.relative_path === props.selected;
          return (
            <tr
              key={c.relative_path}
              aria-selected={selected}
              className={selected ? 'selected' : undefined}
              onClick={() => props.onSelect(c.relative_path)}
            >
              <td>
                <button
                  type="button"
                  className="linklike mono"
                  onClick={() => props.onSelect(c.relative_path)}
                >
                  {c.relative_path === '.' ? '(final model)' : c.relative_path}
                </button>
              </td>
              <td className="num">{c.step ?? '–'}</td>
              <td className="num">{formatLoss(c.training?.train_loss)}</td>
              <td className="num">{formatLoss(c.training?.eval_loss)}</td>
              <td className="num">{formatBytes(c.size_bytes)}</td>
              <td className="mono">{c.dtypes.join(', ')}</td>
              <td>
                <Badges checkpoint={c} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
