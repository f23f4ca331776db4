/**
 * The phrase trie against the plainest matcher: every phrase tried at every place, a token matching by its value
 * or one of its other readings. The trie is packed into arrays for speed; this is what keeps it honest.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { normalizeText, type Token } from '../../src/classifier/normalize.js';
import { PhraseTrie } from '../../src/classifier/phrase-trie.js';

const DEV_POSTS = process.env.EVAL_DIR
  ? `${process.env.EVAL_DIR}/dev/posts.jsonl`
  : fileURLToPath(new URL('../../../shared/eval/dev/posts.jsonl', import.meta.url));

/** The dev posts, or posts of the same shape when the set is not there; with readings: elongations, digits. */
function texts(): string[] {
  const extra = ['sooo annoyed, r3fund pleeease', 'still no signal no siiignal still', 'not not w0rking at all'];
  try {
    return [
      ...readFileSync(DEV_POSTS, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => (JSON.parse(l) as { text: string }).text),
      ...extra,
    ];
  } catch {
    return [
      ...extra,
      'my order 123456 still not here after 2 weeks, how much is express??',
      'how much does the premium plan cost? thinking of switching plan',
      'je veux un remboursement, toujours pas de réponse depuis lundi',
    ];
  }
}

const reads = (token: Token, value: string): boolean => token.value === value || (token.alts ?? []).includes(value);

/** Every place each phrase occurs, as "id:first-last", sorted. */
function bruteForce(phrases: readonly string[][], tokens: readonly Token[]): string[] {
  const found: string[] = [];
  phrases.forEach((words, id) => {
    for (let i = 0; i + words.length <= tokens.length; i++) {
      if (words.every((w, k) => reads(tokens[i + k] as Token, w))) found.push(`${id}:${i}-${i + words.length - 1}`);
    }
  });
  return found.sort();
}

describe('PhraseTrie.scan', () => {
  const posts = texts().map((t) => normalizeText(t).tokens);
  // Phrases of one to three words taken from the posts (so they occur), sharing first words, plus readings.
  const phrases: string[][] = [['refund'], ['annoyed'], ['please'], ['no', 'signal'], ['no', 'signal', 'still'], ['not', 'working'], ['not', 'not']];
  posts.forEach((tokens, p) => {
    for (let i = p % 3; i + 2 < tokens.length; i += 5) phrases.push(tokens.slice(i, i + 1 + (i % 3)).map((t) => t.value));
  });
  const trie = new PhraseTrie();
  const ids = phrases.map((words) => trie.add(words));

  it('gives the same phrase the same id, and each different phrase its own', () => {
    const byKey = new Map<string, number>();
    phrases.forEach((words, k) => {
      const key = words.join(' ');
      const id = ids[k] as number;
      if (byKey.has(key)) expect(id).toBe(byKey.get(key));
      else byKey.set(key, id);
    });
    expect(new Set(ids).size).toBe(byKey.size);
  });

  it('finds every occurrence of every phrase, and nothing else', () => {
    // Distinct phrases by id, for the brute force.
    const distinct: string[][] = [];
    phrases.forEach((words, k) => {
      distinct[ids[k] as number] = words;
    });
    let total = 0;
    for (const tokens of posts) {
      const got = [...trie.scan(tokens)].flatMap(([id, spans]) => spans.map((s) => `${id}:${s.first}-${s.last}`)).sort();
      expect(got).toEqual(bruteForce(distinct, tokens));
      total += got.length;
    }
    // Not vacuous: multi-word phrases and readings do occur.
    expect(total).toBeGreaterThan(posts.length);
  });

  it('goes on from a word only along that word', () => {
    // One word with fifty next words fills much of the edge table: a lookup that compared only the node would
    // land on one of its edges for a word that is not among them.
    const wide = new PhraseTrie();
    const next = Array.from({ length: 50 }, (_, i) => `w${i}`);
    for (const w of next) wide.add(['not', w]);
    const others = Array.from({ length: 50 }, (_, i) => `x${i}`);
    for (const w of others) wide.add([w]);
    const tokens = normalizeText(others.map((w) => `not ${w}`).join(' ')).tokens;
    const found = [...wide.scan(tokens)].flatMap(([id, spans]) => spans.map((s) => `${id}:${s.first}-${s.last}`)).sort();
    // Only the single words: no "not wN" phrase is in the text.
    expect(found).toHaveLength(others.length);
    expect(found.every((f) => /:(\d+)-\1$/.test(f))).toBe(true);
  });

  it('tells apart two words of the same hash', () => {
    // "gjevylcj" and "yrgpgzmb" have the same FNV-1a hash: a lookup that compared only the hashes would take one
    // for the other.
    const twins = new PhraseTrie();
    const id = twins.add(['gjevylcj']);
    expect([...twins.scan(normalizeText('yrgpgzmb').tokens).keys()]).toEqual([]);
    const other = twins.add(['yrgpgzmb']);
    expect([...twins.scan(normalizeText('yrgpgzmb gjevylcj').tokens)].map(([k, spans]) => [k, spans[0]?.first])).toEqual([
      [other, 0],
      [id, 1],
    ]);
  });

  it('tells apart a word from a longer one of the same hash that it begins', () => {
    // "okefuybyv" hashes as "ok" does (FNV-1a), and the table keeps its words in one string: a comparison that
    // only checked that the stored word starts with the token would read "ok" as "okefuybyv".
    const longer = new PhraseTrie();
    const id = longer.add(['okefuybyv']);
    expect([...longer.scan(normalizeText('ok').tokens).keys()]).toEqual([]);
    expect([...longer.scan(normalizeText('ok okefuybyv').tokens).keys()]).toEqual([id]);
    const shorter = new PhraseTrie();
    shorter.add(['ok']);
    expect([...shorter.scan(normalizeText('okefuybyv').tokens).keys()]).toEqual([]);
  });

  it('still finds phrases added after a scan', () => {
    const late = new PhraseTrie();
    late.add(['no', 'signal']);
    const tokens = normalizeText('still no signal since monday').tokens;
    expect([...late.scan(tokens).keys()]).toEqual([0]);
    const id = late.add(['since', 'monday']);
    expect([...late.scan(tokens).keys()].sort()).toEqual([0, id]);
  });
});
