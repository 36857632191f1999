/**
 * The part of RESP2 (the Redis protocol) the state reader speaks: commands are arrays of bulk
 * strings; replies are simple strings, errors, integers, bulk strings (or null) and arrays of
 * those. See state-reader.ts for why it exists.
 */

/** A reply of Redis. An error reply is a `RespError` value (it answers one command, in order). */
export type Reply = string | number | null | RespError | Reply[];

export class RespError extends Error {
  override name = 'RespError';
}

/** The protocol itself was broken (an unknown type, a bad length): the connection must go. */
export class RespProtocolError extends Error {
  override name = 'RespProtocolError';
}

/** One command as RESP: `*<n>` then each argument as a bulk string. */
export function encodeCommand(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

const CR = 13;
const LF = 10;

/** Reads replies out of a byte stream that may split them anywhere. */
export class RespParser {
  private rest: Buffer | undefined;

  /** Hands every complete reply in `chunk` (and what was left before it) to `onReply`, in order. */
  feed(chunk: Buffer, onReply: (reply: Reply) => void): void {
    const buffer = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let position = 0;
    for (;;) {
      const parsed = parseReply(buffer, position);
      if (!parsed) break;
      position = parsed.end;
      onReply(parsed.value);
    }
    this.rest = position < buffer.length ? buffer.subarray(position) : undefined;
  }
}

/** One reply at `start`, or undefined when the buffer does not hold all of it yet. */
function parseReply(buffer: Buffer, start: number): { value: Reply; end: number } | undefined {
  if (start >= buffer.length) return undefined;
  const lineEnd = buffer.indexOf(CR, start + 1);
  if (lineEnd < 0 || lineEnd + 1 >= buffer.length) return undefined;
  if (buffer[lineEnd + 1] !== LF) throw new RespProtocolError('a line does not end in CRLF');
  const line = buffer.toString('utf8', start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (buffer[start]) {
    case 0x2b: // +
      return { value: line, end: next };
    case 0x2d: // -
      return { value: new RespError(line), end: next };
    case 0x3a: // :
      return { value: integer(line, -Infinity), end: next };
    case 0x24: {
      // $
      const length = integer(line);
      if (length === -1) return { value: null, end: next };
      if (next + length + 2 > buffer.length) return undefined;
      if (buffer[next + length] !== CR || buffer[next + length + 1] !== LF) throw new RespProtocolError('a bulk string overran its length');
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case 0x2a: {
      // *
      const count = integer(line);
      if (count === -1) return { value: null, end: next };
      const items: Reply[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, end);
        if (!item) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new RespProtocolError(`unknown reply type ${JSON.stringify(String.fromCharCode(buffer[start]!))}`);
  }
}

/** An integer line; lengths and counts are at least -1 (null). */
function integer(text: string, minimum = -1): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < minimum) throw new RespProtocolError(`bad length or integer ${JSON.stringify(text)}`);
  return value;
}
