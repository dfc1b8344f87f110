// The partner registry over HTTP (admin only), this gateway's public identity for operators who
// register each other, and the first endpoints of the signed peer protocol (docs/peer-protocol.md).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GatewayContext } from '../../services/context.ts';
import { GatewayError } from '../../../core/errors.ts';
import { describeIdentity, PublicIdentity } from '../../identity/identity.ts';
import { Peer, PeerInput, PeerUpdate } from '../../../mpc/peers/peer-registry.ts';
import { PEER_PROTOCOL, PeerId } from '../../../mpc/peers/peer-signature.ts';
import { formatTraceparent } from '../../../core/trace-context.ts';

const ADMIN = { roles: ['admin'] } as const;
const PEER = { peer: true } as const;

export const PeerIdentity = PublicIdentity.extend({ protocol: z.literal(PEER_PROTOCOL) });
export const PingRequest = z.strictObject({ echo: z.string().max(256).optional() });
export const PingAnswer = z.object({
  partyId: z.string(),
  /** The caller as this gateway authenticated it. */
  peer: z.string(),
  receivedAt: z.string(),
  protocol: z.literal(PEER_PROTOCOL),
  echo: z.string().optional(),
});
export const PeerList = z.object({ peers: z.array(Peer) });
export const PingResult = z.object({
  peer: z.string(),
  status: z.int(),
  roundTripMs: z.number(),
  traceId: z.string(),
  attempts: z.int(),
  answer: PingAnswer,
});
const PeerParams = z.object({ id: PeerId });

export function registerPeerRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { registry, client, auth } = ctx.peers;
  const auditAdmin = (action: string, actor: string | undefined, peer: Peer) =>
    ctx.consent.appendAudit({
      kind: 'admin',
      actor: actor ?? ctx.config.partyId,
      action,
      outcome: 'ok',
      refs: [],
      detail: {
        peer: peer.id,
        baseUrl: peer.baseUrl,
        ed25519PublicKey: peer.ed25519PublicKey,
        status: peer.status,
        confirmation: peer.confirmation,
      },
    });

  api.post(
    '/v1/peers',
    {
      config: ADMIN,
      schema: {
        summary:
          'Register a partner gateway (or re-activate a disabled one); with a ledger its key is checked against the on-chain registry',
        tags: ['peers'],
        body: PeerInput,
        response: { 200: Peer, 201: Peer },
      },
    },
    async (request, reply) => {
      const { peer, isCreated } = await registry.add(request.body);
      await auditAdmin('peer-add', request.principal?.tokenId, peer);
      request.log.info(
        { peer: peer.id, confirmation: peer.confirmation, by: request.principal?.tokenId },
        'peer registered',
      );
      return reply.code(isCreated ? 201 : 200).send(peer);
    },
  );

  api.get(
    '/v1/peers',
    {
      config: ADMIN,
      schema: {
        summary: 'List partner gateways, disabled ones included',
        tags: ['peers'],
        response: { 200: PeerList },
      },
    },
    async () => ({ peers: registry.list() }),
  );

  api.get(
    '/v1/peers/:id',
    {
      config: ADMIN,
      schema: { summary: 'One partner gateway', tags: ['peers'], params: PeerParams, response: { 200: Peer } },
    },
    async (request) => {
      const peer = registry.get(request.params.id);
      if (peer === undefined) throw new GatewayError('NOT_FOUND', 'no such peer');
      return peer;
    },
  );

  api.patch(
    '/v1/peers/:id',
    {
      config: ADMIN,
      schema: {
        summary: "Change a partner's base URL or roles (its key never changes here)",
        tags: ['peers'],
        params: PeerParams,
        body: PeerUpdate,
        response: { 200: Peer },
      },
    },
    async (request) => {
      const peer = await registry.update(request.params.id, request.body);
      await auditAdmin('peer-update', request.principal?.tokenId, peer);
      return peer;
    },
  );

  api.delete(
    '/v1/peers/:id',
    {
      config: ADMIN,
      schema: {
        summary: 'Disable a partner gateway: its next request is refused with PEER_UNKNOWN',
        tags: ['peers'],
        params: PeerParams,
        response: { 200: Peer },
      },
    },
    async (request) => {
      const peer = await registry.disable(request.params.id);
      await auditAdmin('peer-disable', request.principal?.tokenId, peer);
      request.log.info({ peer: peer.id, by: request.principal?.tokenId }, 'peer disabled');
      return peer;
    },
  );

  api.post(
    '/v1/peers/:id/ping',
    {
      config: ADMIN,
      schema: {
        summary: 'Send a signed ping to a partner gateway and verify its signed answer',
        tags: ['peers'],
        params: PeerParams,
        response: { 200: PingResult },
      },
    },
    async (request) => {
      const started = performance.now();
      const answer = await client.request({
        peerId: request.params.id,
        method: 'GET',
        path: '/peer/v1/ping',
        options: {
          deadlineMs: 5_000,
          ...(request.trace ? { traceparent: formatTraceparent(request.trace) } : {}),
        },
      });
      const parsed = PingAnswer.safeParse(answer.body);
      if (!parsed.success)
        throw new GatewayError('PEER_BAD_RESPONSE', 'peer ping answer does not match the protocol', {
          peer: request.params.id,
          reason: 'bad-ping',
        });
      return {
        peer: request.params.id,
        status: answer.status,
        roundTripMs: Math.round(performance.now() - started),
        traceId: answer.traceId,
        attempts: answer.attempts,
        answer: parsed.data,
      };
    },
  );

  api.get(
    '/peer/v1/identity',
    {
      config: { public: true },
      schema: {
        summary: "This gateway's public identity (party id, Ed25519 key, EVM address), for partners registering it",
        tags: ['peer protocol'],
        response: { 200: PeerIdentity },
      },
    },
    async (): Promise<z.infer<typeof PeerIdentity>> => ({ ...describeIdentity(ctx.identity), protocol: PEER_PROTOCOL }),
  );

  // Everything below is a peer route: signed by the calling gateway, answered signed.
  void app.register(async (scope) => {
    auth.install(scope);
    const peerApi = scope.withTypeProvider<ZodTypeProvider>();
    const ping = (peer: string | undefined, echo: string | undefined): z.infer<typeof PingAnswer> => ({
      partyId: ctx.config.partyId,
      peer: peer ?? '',
      receivedAt: ctx.clock.now().toISOString(),
      protocol: PEER_PROTOCOL,
      ...(echo === undefined ? {} : { echo }),
    });
    peerApi.get(
      '/peer/v1/ping',
      {
        config: PEER,
        schema: {
          summary: 'Signed liveness check between partner gateways',
          tags: ['peer protocol'],
          response: { 200: PingAnswer },
        },
      },
      async (request) => ping(request.peer?.id, undefined),
    );
    peerApi.post(
      '/peer/v1/ping',
      {
        config: PEER,
        schema: {
          summary: 'Signed liveness check with a body, echoed back',
          tags: ['peer protocol'],
          body: PingRequest,
          response: { 200: PingAnswer },
        },
      },
      async (request) => ping(request.peer?.id, request.body.echo),
    );
  });
}
