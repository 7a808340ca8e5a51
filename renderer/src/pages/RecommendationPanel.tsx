import { useEffect, useRef, useState } from 'react';
import type { Recommendation } from '../../../shared/system.js';
import { getApi } from '../api/index.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { VramFit } from '../components/VramFit.js';
import type { DeployTarget } from '../stores/deployments.js';

/** The recommendation for the target checkpoint with its VRAM-fit picture, for the context being asked for. */
export function RecommendationPanel(props: {
  target: DeployTarget;
  contextLength: number;
  /** Called with each new recommendation (the deploy form takes its defaults from it). */
  onRecommendation?: (recommendation: Recommendation) => void;
}) {
  const { job_id, model_path, checkpoint_path } = props.target;
  const [recommendation, setRecommendation] = useState<Recommendation>();
  const [error, setError] = useState<unknown>();
  const onRecommendation = useRef(props.onRecommendation);
  onRecommendation.current = props.onRecommendation;
  useEffect(() => {
    let current = true;
    // Debounced: the context field changes with every keystroke.
    const timer = setTimeout(() => {
      getApi()
        .system.recommend({
          ...(job_id ? { job_id } : { model_path: model_path ?? '' }),
          ...(checkpoint_path ? { checkpoint_path } : {}),
          ...(props.contextLength >= 128 ? { context_length: props.contextLength } : {}),
        })
        .then(
          (r) => {
            if (!current) return;
            setRecommendation(r);
            setError(undefined);
            onRecommendation.current?.(r);
          },
          (e) => {
            if (current) setError(e);
          },
        );
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [job_id, model_path, checkpoint_path, props.contextLength]);
  return (
    <section aria-label="What fits" className="recommendation-panel">
      <h2>What fits</h2>
      <ErrorNote error={error} />
      {recommendation ? (
        <VramFit recommendation={recommendation} />
      ) : error ? null : (
        <p className="muted">Estimating…</p>
      )}
    </section>
  );
}
