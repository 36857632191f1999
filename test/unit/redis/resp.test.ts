import { encodeCommand, RespError, RespParser, RespProtocolError, type Reply } from '../../../shared/src/redis/resp';

/** Feeds `bytes` to a parser in pieces of `size` bytes; returns the replies in order. */
function parse(bytes: Buffer, size: number): Reply[] {
  const parser = new RespParser();
  const replies: Reply[] = [];
  for (let i = 0; i < bytes.length; i += size) parser.feed(bytes.subarray(i, i + size), (r) => replies.push(r));
  return replies;
}

describe('RESP (the state reader protocol)', () => {
  it('encodes a command as an array of bulk strings, lengths in bytes', () => {
    expect(encodeCommand(['MGET', 'a', 'é'])).toBe('*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$2\r\né\r\n');
  });

  it('reads every reply type, whatever the stream is cut into', () => {
    const stream = Buffer.from('+OK\r\n-ERR wrong\r\n:-42\r\n$5\r\nhé\r\n\r\n$-1\r\n*3\r\n$1\r\na\r\n$-1\r\n$0\r\n\r\n*0\r\n*-1\r\n');
    for (const size of [1, 2, 3, 7, stream.length]) {
      const replies = parse(stream, size);
      expect(replies).toEqual(['OK', new RespError('ERR wrong'), -42, 'hé\r\n', null, ['a', null, ''], [], null]);
      expect(replies[1]).toBeInstanceOf(RespError);
    }
  });

  it('holds back a reply until all of it has arrived', () => {
    const parser = new RespParser();
    const replies: Reply[] = [];
    parser.feed(Buffer.from('*2\r\n$3\r\nabc\r\n$3\r\nde'), (r) => replies.push(r));
    expect(replies).toEqual([]);
    parser.feed(Buffer.from('f\r\n'), (r) => replies.push(r));
    expect(replies).toEqual([['abc', 'def']]);
  });

  it('refuses a broken stream instead of guessing', () => {
    const broken = ['?what\r\n', '$abc\r\n', '$-2\r\n', '$3\r\nabcd\r\n', '*1\r\n$1\r\nab\r\n', '+OK\rX'];
    for (const text of broken) expect(() => parse(Buffer.from(text), text.length)).toThrow(RespProtocolError);
  });
});
