/**
 * `WWW-Authenticate` parsing (RFC 9110 §11.6.1): `challenge = auth-scheme [ 1*SP ( token68 /
 * #auth-param ) ]`, several challenges comma-separated in one header. A real tokenizer, because
 * quoted values contain commas (Harbor: `scope="repository:a/b:pull,push"`) and escaped quotes.
 */

/** One challenge; the scheme and parameter names are lower-cased (both are case-insensitive). */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
  /** The token68 form (`Negotiate abc==`), when the challenge has one instead of parameters. */
  readonly token68?: string;
}

/** An unquoted auth-param value: up to the next comma or whitespace (see readBare). */
const BARE_VALUE = /[^,\s"]/;
/** RFC 9110 tchar. */
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
/** token68 followed by optional padding, then the end of this challenge. */
const TOKEN68 = /^([A-Za-z0-9\-._~+/]+=*)[ \t]*(?:,|$)/;

/** Every challenge in `header`, in order; malformed pieces are skipped, never thrown. */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  // Several WWW-Authenticate fields are the same as one field with the values comma-joined.
  const text = typeof header === 'string' ? header : header.join(', ');
  const challenges: Challenge[] = [];
  let pos = 0;
  const skip = (chars: string): void => {
    while (pos < text.length && chars.includes(text[pos]!)) pos++;
  };
  const readToken = (): string => {
    const start = pos;
    while (pos < text.length && TCHAR.test(text[pos]!)) pos++;
    return text.slice(start, pos);
  };
  // RFC 9110 allows only a token unquoted, but registry fronts send `realm=https://host/token`
  // unquoted (go-containerregistry, splitting on `,` and `=`, accepts it): a URL is not a token.
  const readBare = (): string => {
    const start = pos;
    while (pos < text.length && BARE_VALUE.test(text[pos]!)) pos++;
    return text.slice(start, pos);
  };
  const readQuoted = (): string => {
    pos++; // opening quote
    let value = '';
    while (pos < text.length && text[pos] !== '"') {
      if (text[pos] === '\\' && pos + 1 < text.length) pos++; // quoted-pair: take the next char as is
      value += text[pos];
      pos++;
    }
    pos++; // closing quote (or past the end when unterminated)
    return value;
  };

  while (pos < text.length) {
    skip(' \t,');
    const scheme = readToken();
    if (scheme === '') {
      pos++; // not a token start: skip the stray character
      continue;
    }
    skip(' \t');
    const token68 = TOKEN68.exec(text.slice(pos));
    if (token68) {
      challenges.push({ scheme: scheme.toLowerCase(), params: {}, token68: token68[1]! });
      pos += token68[0].length;
      continue;
    }
    const params: Record<string, string> = {};
    for (;;) {
      skip(' \t,');
      const start = pos;
      const name = readToken();
      skip(' \t');
      if (name === '' || text[pos] !== '=') {
        pos = start; // not `name=`: the next challenge's scheme (or the end)
        break;
      }
      pos++;
      skip(' \t');
      const value = text[pos] === '"' ? readQuoted() : readBare();
      params[name.toLowerCase()] = value;
    }
    challenges.push({ scheme: scheme.toLowerCase(), params });
  }
  return challenges;
}

/** The first challenge of `header`, or undefined when it has none. */
export function parseChallenge(header: string | readonly string[] | undefined): Challenge | undefined {
  return parseChallenges(header)[0];
}

/** The challenge a registry client should answer: Bearer when offered (docker's preference), else Basic. */
export function pickChallenge(header: string | readonly string[] | undefined): Challenge | undefined {
  const challenges = parseChallenges(header);
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
