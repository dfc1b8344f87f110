// The compliance console over HTTP (docs/console.md), at /console: sign-in with a compliance officer's token, then
// server-rendered pages read with the session it opens. Every page sends a strict Content-Security-Policy (only the
// console's own stylesheet and script, no framing, forms only to itself); forms that change state (sign-in,
// sign-out) carry a CSRF token; every value shown is escaped (console-pages.ts).
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SUBJECT_PROOFS_KIND } from '../../../contracts/verify-cli.ts';
import { Pseudonym } from '../../../consent/record.ts';
import { pseudonymOfDigest } from '../../../consent/pseudonym.ts';
import { GatewayError } from '../../../core/errors.ts';
import { subjectAuthorizationChain } from '../../services/audit-report.ts';
import type { GatewayContext } from '../../services/context.ts';
import type { JobView } from '../../../mpc/jobs/view.ts';
import { handleError } from '../problem.ts';
import {
  jobPage,
  jobsPage,
  listingPage,
  listingsPage,
  overviewPage,
  signInPage,
  subjectPage,
  subjectSearchPage,
  type JobSubjects,
  type PageUser,
} from './console-pages.ts';
import { createConsoleSessions, randomToken, sameSecret, type ConsoleSession } from './console-sessions.ts';

/** Only compliance officers use the console: it shows every subject's chain. */
const CONSOLE_ROLE = 'compliance-officer';
const SESSION_COOKIE = 'sg_console';
const CSRF_COOKIE = 'sg_console_csrf';
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const asset = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
const ASSETS = { 'console.css': asset('console.css'), 'console.js': asset('console.js') } as const;

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: ConsoleSession;
  }
}

function cookiesOf(request: FastifyRequest): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return out;
}

/** A cookie only this console's pages get back, that scripts cannot read, never sent from another site. */
function cookie(request: FastifyRequest, name: string, value: string, maxAgeSeconds: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${name}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

const html = (reply: FastifyReply, page: string, code = 200) =>
  reply
    .code(code)
    .type('text/html; charset=utf-8')
    .serializer((p) => p as string)
    .send(page);

const seeOther = (reply: FastifyReply, to: string) => reply.code(303).header('location', to).send('');

const FormBody = z.record(z.string(), z.string());
const HtmlPage = { 200: z.string() };

export function registerConsoleRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const sessions = createConsoleSessions(ctx.clock);

  app.register(async (scope) => {
    const api = scope.withTypeProvider<ZodTypeProvider>();
    // Forms post urlencoded fields; nothing else reaches the console's handlers.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.addHook('onSend', (_request, reply, payload, done) => {
      reply.header('content-security-policy', CONSOLE_CSP);
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('cache-control', 'no-store');
      done(null, payload);
    });
    // Without a live session a page answers with the sign-in page's address rather than a problem document.
    scope.setErrorHandler((error, request, reply) => {
      if (error instanceof GatewayError && error.code === 'UNAUTHENTICATED' && request.method === 'GET')
        return seeOther(reply, '/console/sign-in');
      return handleError(error, request, reply);
    });

    const guard = async (request: FastifyRequest): Promise<void> => {
      const session = sessions.use(cookiesOf(request).get(SESSION_COOKIE));
      if (session === null) throw new GatewayError('UNAUTHENTICATED', 'sign in to the console first');
      // A revoked token ends its sessions at the next page.
      const live = (await ctx.tokens.listTokens()).find((t) => t.id === session.principal.tokenId);
      if (live === undefined || live.revokedAt !== null) {
        sessions.end(session.id);
        throw new GatewayError('UNAUTHENTICATED', 'the token this session signed in with was revoked');
      }
      request.principal = session.principal;
      request.consoleSession = session;
    };
    const page = { console: true, consoleGuard: guard } as const;
    const userOf = (request: FastifyRequest): PageUser =>
      request.consoleSession === undefined
        ? null
        : { role: request.consoleSession.principal.role, csrf: request.consoleSession.csrf };

    api.get(
      '/console/sign-in',
      { config: { public: true }, schema: { hide: true, response: HtmlPage } },
      async (request, reply) => {
        const csrf = randomToken();
        reply.header('set-cookie', cookie(request, CSRF_COOKIE, csrf, 600));
        return html(reply, signInPage(csrf, null));
      },
    );

    api.post(
      '/console/sign-in',
      { config: { public: true }, schema: { hide: true, response: { 303: z.string(), 200: z.string() } } },
      async (request, reply) => {
        const form = FormBody.safeParse(request.body);
        const fields = form.success ? form.data : {};
        if (!sameSecret(fields.csrf, cookiesOf(request).get(CSRF_COOKIE)))
          throw new GatewayError('FORBIDDEN', 'the sign-in form is stale or did not come from this console');
        const principal = await ctx.tokens.authenticate(fields.token ?? '');
        const again = () => {
          const csrf = randomToken();
          reply.header('set-cookie', cookie(request, CSRF_COOKIE, csrf, 600));
          return csrf;
        };
        if (principal === null) return html(reply, signInPage(again(), 'That token is not valid.'), 401);
        if (principal.role !== CONSOLE_ROLE)
          return html(reply, signInPage(again(), `A ${principal.role} token cannot open the console.`), 403);
        const session = sessions.create(principal);
        reply.header('set-cookie', [
          cookie(request, SESSION_COOKIE, session.id, 8 * 3600),
          cookie(request, CSRF_COOKIE, '', 0),
        ]);
        await ctx.consent.appendAudit({
          kind: 'token',
          actor: `token:${principal.tokenId}`,
          action: 'console-sign-in',
          outcome: 'ok',
          refs: [],
          detail: {},
        });
        return seeOther(reply, '/console');
      },
    );

    api.post(
      '/console/sign-out',
      { config: page, schema: { hide: true, response: { 303: z.string() } } },
      async (request, reply) => {
        const session = request.consoleSession as ConsoleSession;
        const form = FormBody.safeParse(request.body);
        if (!sameSecret(form.success ? form.data.csrf : undefined, session.csrf))
          throw new GatewayError('FORBIDDEN', 'the sign-out form did not come from this session');
        sessions.end(session.id);
        reply.header('set-cookie', cookie(request, SESSION_COOKIE, '', 0));
        return seeOther(reply, '/console/sign-in');
      },
    );

    api.get('/console', { config: page, schema: { hide: true, response: HtmlPage } }, async (request, reply) => {
      const verification = await ctx.consent.verify();
      const status = ctx.ledger.anchoring?.status() ?? null;
      const last = await ctx.ledger.anchors.lastBatch();
      const batches = last === null ? [] : await ctx.ledger.anchors.listBatches(Math.max(0, last.batchNo - 10), 10);
      return html(
        reply,
        overviewPage(
          {
            partyId: ctx.config.partyId,
            batches: [...batches].reverse(),
            audit: {
              ok: verification.ok,
              detail: verification.ok
                ? `${verification.events} consent events and ${verification.audit} audit entries check, link by link`
                : `the ${verification.chain} chain breaks at seq ${verification.seq}: ${verification.reason}`,
            },
            ledger: {
              readiness: ctx.ledger.readiness(),
              anchoring: status === null ? 'off' : status.state,
              pendingRecords: status?.pendingRecords ?? null,
              lastBatch:
                status?.lastAnchoredBatch === null || status === null ? null : JSON.stringify(status.lastAnchoredBatch),
            },
          },
          userOf(request),
        ),
      );
    });

    api.get(
      '/console/subjects',
      {
        config: page,
        schema: {
          hide: true,
          querystring: z.strictObject({
            pseudonym: z.string().max(200).optional(),
            digest: z.string().max(200).optional(),
          }),
          response: { 200: z.string(), 303: z.string() },
        },
      },
      async (request, reply) => {
        const { pseudonym, digest } = request.query;
        if (pseudonym !== undefined && pseudonym !== '') {
          if (!Pseudonym.safeParse(pseudonym).success)
            return html(reply, subjectSearchPage(userOf(request), 'That is not a pseudonym (sp_ and 43 more).'), 400);
          return seeOther(reply, `/console/subjects/${encodeURIComponent(pseudonym)}`);
        }
        if (digest !== undefined && digest !== '') {
          if (!/^[0-9a-f]{64}$/.test(digest))
            return html(reply, subjectSearchPage(userOf(request), 'The digest must be 64 hex digits.'), 400);
          const found = pseudonymOfDigest(ctx.identity.subjectKey, Buffer.from(digest, 'hex'));
          return seeOther(reply, `/console/subjects/${encodeURIComponent(found)}`);
        }
        return html(reply, subjectSearchPage(userOf(request), null));
      },
    );

    api.get(
      '/console/subjects/:subject',
      { config: page, schema: { hide: true, params: z.strictObject({ subject: Pseudonym }), response: HtmlPage } },
      async (request, reply) =>
        html(
          reply,
          subjectPage(
            await subjectAuthorizationChain(ctx, request.params.subject),
            userOf(request),
            await ctx.deliveries.usesOfSubject(request.params.subject, 200),
          ),
        ),
    );

    api.get(
      '/console/subjects/:subject/proofs.json',
      {
        config: page,
        schema: { hide: true, params: z.strictObject({ subject: Pseudonym }), response: { 200: z.unknown() } },
      },
      async (request, reply) => {
        const chain = await subjectAuthorizationChain(ctx, request.params.subject);
        reply.header('content-disposition', `attachment; filename="proofs-${request.params.subject}.json"`);
        return {
          kind: SUBJECT_PROOFS_KIND,
          subject: chain.subject,
          generatedAt: ctx.clock.now().toISOString(),
          links: chain.links.map((l) => ({ kind: l.kind, type: l.type, recordId: l.recordId, receipt: l.receipt })),
        };
      },
    );

    /** How many subjects a job page lists; the rest are counted. */
    const SUBJECTS_SHOWN = 200;
    /** Whose consent a job relied on here: its own intersection (PSI), or that of the PSI job it ran on. */
    const subjectsOf = async (job: JobView, asker: { tokenId: string; role: string }): Promise<JobSubjects | null> => {
      const psiJob = typeof job.spec.params.psiJob === 'string' ? job.spec.params.psiJob : null;
      const id = job.spec.protocol === 'psi' ? job.id : psiJob;
      if (id === null) return null;
      try {
        const output = await ctx.jobs.output(id, 0, SUBJECTS_SHOWN, asker);
        if (output.subjects === null) return null;
        return {
          source: id === job.id ? 'the customers it found in common' : `the customers PSI job ${id} aligned`,
          total: output.count,
          shown: output.subjects,
        };
      } catch (error) {
        // Not completed, or this party received no list: the page says it holds none.
        if (error instanceof GatewayError && (error.code === 'CONFLICT' || error.code === 'NOT_FOUND')) return null;
        throw error;
      }
    };

    api.get('/console/jobs', { config: page, schema: { hide: true, response: HtmlPage } }, async (request, reply) =>
      html(reply, jobsPage(await ctx.jobs.list(100), userOf(request))),
    );

    api.get(
      '/console/jobs/:id',
      { config: page, schema: { hide: true, params: z.strictObject({ id: z.uuid() }), response: HtmlPage } },
      async (request, reply) => {
        const job = await ctx.jobs.get(request.params.id);
        const asker = request.principal as { tokenId: string; role: string };
        return html(reply, jobPage(job, await subjectsOf(job, asker), userOf(request)));
      },
    );

    api.get(
      '/console/listings',
      { config: page, schema: { hide: true, response: HtmlPage } },
      async (request, reply) => {
        const { listings } = await ctx.listings.list({ after: null, limit: 200, filters: {} }, CONSOLE_ROLE);
        return html(reply, listingsPage(listings, userOf(request)));
      },
    );

    api.get(
      '/console/listings/:id',
      { config: page, schema: { hide: true, params: z.strictObject({ id: z.uuid() }), response: HtmlPage } },
      async (request, reply) => {
        const listing = await ctx.listings.get(request.params.id, CONSOLE_ROLE);
        const checks = await ctx.consentBases.history(request.params.id, CONSOLE_ROLE, 100);
        return html(reply, listingPage(listing, checks, userOf(request)));
      },
    );

    api.get(
      '/console/assets/:name',
      {
        config: { public: true },
        schema: {
          hide: true,
          params: z.strictObject({ name: z.enum(['console.css', 'console.js']) }),
          response: HtmlPage,
        },
      },
      async (request, reply) =>
        reply
          .type(request.params.name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8')
          .serializer((p) => p as string)
          .send(ASSETS[request.params.name]),
    );
  });
}
