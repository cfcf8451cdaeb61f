/**
 * What travels on the invalidation bus: which entries to drop, never their values.
 *
 * Wire format (JSON, one message per publish):
 * `{"p":"<publisher id>","s":<sequence>,"i":[["k",key…],["m",prefix,pattern],["t",tag…],["c"]]}`.
 * A message may carry several invalidations (a publisher batches what piled up while it waited for
 * the previous publish); it gets one sequence number, so a receiver detects a lost message as a
 * gap. Messages are split to stay under {@link MAX_MESSAGE_BYTES} (PostgreSQL `NOTIFY` takes
 * less than 8000 bytes).
 */

/** One invalidation: made keys, a prefix + glob over made keys, tags, or everything. */
export type Invalidation =
  | { readonly kind: 'keys'; readonly keys: readonly string[] }
  | { readonly kind: 'match'; readonly prefix: string; readonly pattern: string }
  | { readonly kind: 'tags'; readonly tags: readonly string[] }
  | { readonly kind: 'clear' };

/** A decoded message. */
export interface BusMessage {
  /** The publisher's id (random per bus object). */
  readonly publisher: string;
  /** 1, 2, 3… per publisher, with no holes unless a message was lost. */
  readonly sequence: number;
  readonly invalidations: readonly Invalidation[];
}

/** The largest encoded message, in bytes (PostgreSQL's NOTIFY payload limit is 8000). */
export const MAX_MESSAGE_BYTES = 7000;

type WireItem = [kind: 'k' | 'm' | 't' | 'c', ...text: string[]];

function toWire(invalidation: Invalidation): WireItem {
  switch (invalidation.kind) {
    case 'keys':
      return ['k', ...invalidation.keys];
    case 'match':
      return ['m', invalidation.prefix, invalidation.pattern];
    case 'tags':
      return ['t', ...invalidation.tags];
    case 'clear':
      return ['c'];
  }
}

function fromWire(item: unknown): Invalidation | undefined {
  if (!Array.isArray(item) || !item.every((part) => typeof part === 'string')) return undefined;
  const [kind, ...rest] = item as string[];
  switch (kind) {
    case 'k':
      return { kind: 'keys', keys: rest };
    case 'm':
      return rest.length === 2 ? { kind: 'match', prefix: rest[0]!, pattern: rest[1]! } : undefined;
    case 't':
      return { kind: 'tags', tags: rest };
    case 'c':
      return { kind: 'clear' };
    default:
      return undefined;
  }
}

/** Encodes one message. */
export function encodeMessage(message: BusMessage): string {
  return JSON.stringify({
    p: message.publisher,
    s: message.sequence,
    i: message.invalidations.map(toWire),
  });
}

/** Decodes one message; `undefined` for anything that is not one (another program on the channel). */
export function decodeMessage(text: string): BusMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { p, s, i } = (parsed ?? {}) as { p?: unknown; s?: unknown; i?: unknown };
  if (typeof p !== 'string' || !Number.isSafeInteger(s) || !Array.isArray(i)) return undefined;
  const invalidations: Invalidation[] = [];
  for (const item of i) {
    const invalidation = fromWire(item);
    if (!invalidation) return undefined;
    invalidations.push(invalidation);
  }
  return { publisher: p, sequence: s as number, invalidations };
}

/** Bytes an invalidation adds to a message, roughly (JSON quoting can add a little). */
function sizeOf(invalidation: Invalidation): number {
  return Buffer.byteLength(JSON.stringify(toWire(invalidation))) + 1;
}

/**
 * Splits invalidations into message bodies of at most `limit` bytes each, keeping their order.
 * A list of keys or tags too long for one message is split; a single key longer than the limit
 * becomes a `clear` (nothing else can say "drop it").
 */
export function packInvalidations(
  invalidations: readonly Invalidation[],
  limit = MAX_MESSAGE_BYTES - 100,
): Invalidation[][] {
  const bodies: Invalidation[][] = [];
  let body: Invalidation[] = [];
  let bytes = 0;
  const push = (invalidation: Invalidation, size: number) => {
    if (bytes + size > limit && body.length > 0) {
      bodies.push(body);
      body = [];
      bytes = 0;
    }
    body.push(invalidation);
    bytes += size;
  };
  for (const invalidation of invalidations) {
    const size = sizeOf(invalidation);
    if (size <= limit) {
      push(invalidation, size);
      continue;
    }
    if (invalidation.kind === 'keys' || invalidation.kind === 'tags') {
      const names = invalidation.kind === 'keys' ? invalidation.keys : invalidation.tags;
      let part: string[] = [];
      let partBytes = 8;
      const flush = () => {
        if (part.length === 0) return;
        push(
          invalidation.kind === 'keys'
            ? { kind: 'keys', keys: part }
            : { kind: 'tags', tags: part },
          partBytes,
        );
        part = [];
        partBytes = 8;
      };
      for (const name of names) {
        const nameBytes = Buffer.byteLength(JSON.stringify(name)) + 1;
        if (nameBytes + 8 > limit) {
          flush();
          push({ kind: 'clear' }, 6);
          continue;
        }
        if (partBytes + nameBytes > limit) flush();
        part.push(name);
        partBytes += nameBytes;
      }
      flush();
    } else {
      push({ kind: 'clear' }, 6);
    }
  }
  if (body.length > 0) bodies.push(body);
  return bodies;
}
