// Sign-in sessions of the compliance console (docs/console.md): a browser cannot attach a bearer token to the pages it
// navigates to, so a compliance officer signs in once with their token and gets a session: a random id in an
// HttpOnly, SameSite=Strict cookie, and a CSRF token its forms carry. Only the token's id and role are kept, never
// the token; each page checks the token is still live, so revoking it ends its sessions. Sessions live in memory: a
// restart signs everyone out, which is the safe direction.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../../core/clock.ts';
import type { Principal } from '../../identity/token-store.ts';

/** Idle time after which a session ends, and the most a session lasts however busy. */
export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_MAX_MS = 8 * 60 * 60_000;
/** At most this many live sessions: the oldest goes first, so a flood of sign-ins cannot grow memory. */
const MAX_SESSIONS = 1_000;

export type ConsoleSession = { id: string; csrf: string; principal: Principal; createdAt: number; usedAt: number };

export type ConsoleSessions = {
  create(principal: Principal): ConsoleSession;
  /** The live session of `id`, its idle clock restarted; null when unknown or expired. */
  use(id: string | undefined): ConsoleSession | null;
  end(id: string): void;
};

export const randomToken = (): string => randomBytes(32).toString('base64url');

/** Constant-time comparison of two CSRF tokens (or any two short secrets); false when either is missing. */
export function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || a.length === 0 || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export function createConsoleSessions(clock: Clock): ConsoleSessions {
  const sessions = new Map<string, ConsoleSession>();
  return {
    create(principal) {
      const now = clock.now().getTime();
      if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
      const session = { id: randomToken(), csrf: randomToken(), principal, createdAt: now, usedAt: now };
      sessions.set(session.id, session);
      return session;
    },
    use(id) {
      if (id === undefined) return null;
      const session = sessions.get(id);
      if (session === undefined) return null;
      const now = clock.now().getTime();
      if (now - session.usedAt > SESSION_IDLE_MS || now - session.createdAt > SESSION_MAX_MS) {
        sessions.delete(id);
        return null;
      }
      session.usedAt = now;
      return session;
    },
    end: (id) => {
      sessions.delete(id);
    },
  };
}
