// Parameters every joint protocol over aligned rows shares: the PSI job that aligned the parties and the CKKS preset.
import { z } from 'zod';
import { HE_PRESET_NAMES, DEFAULT_HE_PRESET } from '../he/he-presets.ts';
import { JobId } from '../jobs/job.ts';

export const AlignedParams = {
  /** A completed PSI job in intersection mode whose output reached every party of this job. */
  psiJob: JobId,
  preset: z.enum(HE_PRESET_NAMES).default(DEFAULT_HE_PRESET),
};
