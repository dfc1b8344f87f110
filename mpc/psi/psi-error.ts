// The typed failure of the PSI protocol core: every rejected message or input becomes a PsiProtocolError whose code
// is one of the PSI_* codes of the gateway error catalogue (core/errors.ts), so the job runner can fail the job
// with a stable code and report it to every party (DESIGN.md §1.5).
import { GatewayError, type ErrorCode } from '../../core/errors.ts';

export type PsiErrorCode = Extract<ErrorCode, `PSI_${string}`>;

export class PsiProtocolError extends GatewayError {
  declare readonly code: PsiErrorCode;

  /** `detail` holds only counts, indices, step and party names: never a point, scalar or identifier. */
  constructor(code: PsiErrorCode, message: string, detail: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(code, message, detail, options);
    this.name = 'PsiProtocolError';
  }
}

export const isPsiProtocolError = (e: unknown): e is PsiProtocolError => e instanceof PsiProtocolError;
