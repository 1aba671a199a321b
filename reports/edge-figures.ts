import { BUCKET_FIGURES } from '../graph-schema/history';
import type { EdgeFigures } from './report-model';

/** The summable figures of an edge (every one but `open`, which is a level, not a sum). */
export const SUMMED_FIGURES = BUCKET_FIGURES;

/** Figures all 0. */
export function zeroFigures(): EdgeFigures {
  const out = { open: 0 } as EdgeFigures;
  for (const k of SUMMED_FIGURES) out[k] = 0;
  return out;
}

/** The figures of anything that carries them (a window's edge), and nothing else. */
export function figuresOf(e: EdgeFigures): EdgeFigures {
  const out = { open: e.open } as EdgeFigures;
  for (const k of SUMMED_FIGURES) out[k] = e[k];
  return out;
}
