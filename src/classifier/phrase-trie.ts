import type { Token } from './normalize.js';

/** Where a phrase occurs: [start, end) in the normalized text, and the indexes of its first and last token. */
export interface Span {
  start: number;
  end: number;
  first: number;
  last: number;
  /**
   * Whether a negation cue governs it: the same for every rule, so the classifier works it out once, when a rule
   * first asks (undefined until then).
   */
  negated: boolean | undefined;
}

interface TrieNode {
  children: Map<string, TrieNode>;
  /** Ids of the phrases that end at this node. */
  phrases: number[];
}

const newNode = (): TrieNode => ({ children: new Map(), phrases: [] });

/**
 * A trie over token values holding every phrase of every rule. Scanning a post walks it once from each
 * token, so the cost depends on the post's length and the longest phrase, not on the number of rules.
 * A token with other readings (an elongation, digits for letters) branches the walk into each of them.
 */
export class PhraseTrie {
  readonly #root = newNode();
  readonly #ids = new Map<string, number>();

  /** How many distinct phrases were added: their ids are 0 to size - 1. */
  get size(): number {
    return this.#ids.size;
  }

  /** Add a phrase given as token values; the same sequence always gets the same id. */
  add(values: readonly string[]): number {
    // \u0000 cannot occur in a token, so the key is unambiguous.
    const key = values.join('\u0000');
    const known = this.#ids.get(key);
    if (known !== undefined) return known;
    const id = this.#ids.size;
    this.#ids.set(key, id);
    let node = this.#root;
    for (const value of values) {
      let next = node.children.get(value);
      if (next === undefined) {
        next = newNode();
        node.children.set(value, next);
      }
      node = next;
    }
    node.phrases.push(id);
    return id;
  }

  /** Every occurrence of every phrase among the tokens, by phrase id (one span per place, however it was read). */
  scan(tokens: readonly Token[]): Map<number, Span[]> {
    const hits = new Map<number, Span[]>();
    for (let i = 0; i < tokens.length; i++) walk(this.#root, tokens, i, i, hits);
    return hits;
  }
}

// Module functions rather than closures: scan runs for every post, and closures cost an allocation each.
function walk(node: TrieNode, tokens: readonly Token[], first: number, j: number, hits: Map<number, Span[]>): void {
  const token = tokens[j];
  if (token === undefined) return;
  step(node, token.value, tokens, first, j, hits);
  if (token.alts !== undefined) for (const alt of token.alts) step(node, alt, tokens, first, j, hits);
}

function step(node: TrieNode, value: string, tokens: readonly Token[], first: number, j: number, hits: Map<number, Span[]>): void {
  const next = node.children.get(value);
  if (next === undefined) return;
  for (const id of next.phrases) {
    const list = hits.get(id);
    const span: Span = { start: (tokens[first] as Token).start, end: (tokens[j] as Token).end, first, last: j, negated: undefined };
    if (list === undefined) hits.set(id, [span]);
    else if (!hasSpan(list, first, j)) list.push(span);
  }
  if (next.children.size > 0) walk(next, tokens, first, j + 1, hits);
}

/** Whether a phrase was already found at these tokens (through another reading of the same words). */
function hasSpan(list: readonly Span[], first: number, last: number): boolean {
  for (const s of list) if (s.first === first && s.last === last) return true;
  return false;
}
