import type { Token } from './normalize.js';

/** Where a phrase occurs: [start, end) in the normalized text. */
export interface Span {
  start: number;
  end: number;
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
 */
export class PhraseTrie {
  readonly #root = newNode();
  readonly #ids = new Map<string, number>();

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

  /** Every occurrence of every phrase among the tokens, by phrase id. */
  scan(tokens: readonly Token[]): Map<number, Span[]> {
    const hits = new Map<number, Span[]>();
    for (let i = 0; i < tokens.length; i++) {
      const first = tokens[i] as Token;
      let node: TrieNode | undefined = this.#root;
      for (let j = i; j < tokens.length; j++) {
        const token = tokens[j] as Token;
        node = node.children.get(token.value);
        if (node === undefined) break;
        for (const id of node.phrases) {
          const span = { start: first.start, end: token.end };
          const list = hits.get(id);
          if (list === undefined) hits.set(id, [span]);
          else list.push(span);
        }
      }
    }
    return hits;
  }
}
