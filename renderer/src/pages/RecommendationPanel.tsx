import type { DeployTarget } from '../stores/deployments.js';

/** The recommendation for the target checkpoint with its VRAM-fit picture (filled in with the hardware work). */
export function RecommendationPanel(_props: { target: DeployTarget; contextLength: number }) {
  return null;
}
