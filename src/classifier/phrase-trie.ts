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
 * The trie as classify() reads it, built from the nodes once all phrases are in: typed arrays rather than a Map and
 * an array per node. With 10,000 rules the nodes number tens of thousands, and reading a node's objects from
 * memory cost more than the rest of the scan; here a token costs one lookup of its word, then array reads.
 */
interface Packed {
  /** Every word a phrase holds → its word id: see {@link wordId}. */
  words: WordTable;
  /** By word id: the node a phrase starting with the word reaches, or 0 (the root is node 0, no one's child). */
  rootNext: Int32Array;
  /** The other edges, open addressing: slot → (node, word id) → child; a key node of 0 marks an empty slot. */
  mask: number;
  edgeNode: Int32Array;
  edgeWord: Int32Array;
  edgeChild: Int32Array;
  /** By node: the ids of the phrases ending there are `ends[endsStart[node]]` up to `ends[endsStart[node + 1]]`. */
  endsStart: Int32Array;
  ends: Int32Array;
  /** By node: whether it has children. */
  inner: Uint8Array;
}

/**
 * Every word a phrase holds, by word id, and a hash table to find a word's id: two int32 words per slot, the word's
 * hash and its id + 1 (0: an empty slot). A Map of strings did the same, but with 10,000 rules it holds ~40,000
 * words spread over the heap (its buckets, its entries, the keys' strings), and its lookups became the profile's
 * largest line at that size. Here the slots are one array; a word's string is read only when the hashes match.
 */
interface WordTable {
  words: string[];
  slots: Int32Array;
  mask: number;
}

/** FNV-1a over the UTF-16 code units. */
function hashWord(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Slots for an open-addressing table of `n` keys: a power of two, at most half full. */
function slotsFor(n: number): number {
  let size = 2;
  while (size < 2 * n) size *= 2;
  return size;
}

function wordTable(words: string[]): WordTable {
  const size = slotsFor(words.length);
  const mask = size - 1;
  const slots = new Int32Array(2 * size);
  words.forEach((word, id) => {
    const h = hashWord(word);
    let slot = h & mask;
    while (slots[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
    slots[2 * slot] = h;
    slots[2 * slot + 1] = id + 1;
  });
  return { words, slots, mask };
}

/** The id of a word, or -1 when no phrase holds it. */
function wordId(table: WordTable, word: string): number {
  const h = hashWord(word);
  const { slots, mask } = table;
  for (let slot = h & mask; ; slot = (slot + 1) & mask) {
    const id = (slots[2 * slot + 1] as number) - 1;
    if (id < 0) return -1;
    if (slots[2 * slot] === h && table.words[id] === word) return id;
  }
}

const edgeSlot = (node: number, word: number, mask: number): number => (Math.imul(node, 0x9e3779b1) ^ Math.imul(word + 1, 0x85ebca77)) & mask;

function pack(root: TrieNode): Packed {
  const words = new Map<string, number>();
  const nodes: TrieNode[] = [root];
  const edges: [number, number, number][] = [];
  // Breadth first: a node's id is its place in `nodes`.
  for (let n = 0; n < nodes.length; n++) {
    for (const [value, child] of (nodes[n] as TrieNode).children) {
      let word = words.get(value);
      if (word === undefined) {
        word = words.size;
        words.set(value, word);
      }
      edges.push([n, word, nodes.length]);
      nodes.push(child);
    }
  }
  const rootNext = new Int32Array(words.size);
  const size = slotsFor(edges.length);
  const mask = size - 1;
  const edgeNode = new Int32Array(size);
  const edgeWord = new Int32Array(size);
  const edgeChild = new Int32Array(size);
  for (const [node, word, child] of edges) {
    if (node === 0) {
      rootNext[word] = child;
      continue;
    }
    let slot = edgeSlot(node, word, mask);
    while (edgeNode[slot] !== 0) slot = (slot + 1) & mask;
    edgeNode[slot] = node;
    edgeWord[slot] = word;
    edgeChild[slot] = child;
  }
  const endsStart = new Int32Array(nodes.length + 1);
  nodes.forEach((node, n) => {
    endsStart[n + 1] = (endsStart[n] as number) + node.phrases.length;
  });
  const ends = new Int32Array(endsStart[nodes.length] as number);
  nodes.forEach((node, n) => {
    ends.set(node.phrases, endsStart[n]);
  });
  const inner = Uint8Array.from(nodes, (node) => (node.children.size > 0 ? 1 : 0));
  return { words: wordTable([...words.keys()]), rootNext, mask, edgeNode, edgeWord, edgeChild, endsStart, ends, inner };
}

/**
 * A trie over token values holding every phrase of every rule. Scanning a post walks it once from each
 * token, so the cost depends on the post's length and the longest phrase, not on the number of rules.
 * A token with other readings (an elongation, digits for letters) branches the walk into each of them.
 */
export class PhraseTrie {
  readonly #root = newNode();
  readonly #ids = new Map<string, number>();
  #packed: Packed | null = null;

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
    this.#packed = null;
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

  /**
   * Build the packed form now (a ruleset's compile does, once all its phrases are in), so that the first post
   * scanned does not pay for it. A scan after an add packs again by itself.
   */
  pack(): void {
    this.#packed ??= pack(this.#root);
  }

  /** Every occurrence of every phrase among the tokens, by phrase id (one span per place, however it was read). */
  scan(tokens: readonly Token[]): Map<number, Span[]> {
    const packed = (this.#packed ??= pack(this.#root));
    const hits = new Map<number, Span[]>();
    // Each token's word ids, looked up once: its value's, then its other readings' (-1 for a word no phrase holds).
    const readings: (number | number[])[] = new Array(tokens.length);
    for (let j = 0; j < tokens.length; j++) {
      const token = tokens[j] as Token;
      const word = wordId(packed.words, token.value);
      readings[j] = token.alts === undefined ? word : [word, ...token.alts.map((alt) => wordId(packed.words, alt))];
    }
    for (let i = 0; i < tokens.length; i++) {
      const r = readings[i] as number | number[];
      if (typeof r === 'number') {
        if (r >= 0) reach(packed, packed.rootNext[r] as number, tokens, readings, i, i, hits);
      } else {
        for (const word of r) if (word >= 0) reach(packed, packed.rootNext[word] as number, tokens, readings, i, i, hits);
      }
    }
    return hits;
  }
}

// Module functions rather than closures: scan runs for every post, and closures cost an allocation each.
/** The walk has reached `node` (0: nowhere) on tokens `first` to `j`: note the phrases ending there, go on. */
function reach(
  p: Packed,
  node: number,
  tokens: readonly Token[],
  readings: readonly (number | number[])[],
  first: number,
  j: number,
  hits: Map<number, Span[]>,
): void {
  if (node === 0) return;
  const end = p.endsStart[node + 1] as number;
  for (let k = p.endsStart[node] as number; k < end; k++) {
    const id = p.ends[k] as number;
    const list = hits.get(id);
    if (list === undefined) hits.set(id, [span(tokens, first, j)]);
    else if (!hasSpan(list, first, j)) list.push(span(tokens, first, j));
  }
  if (p.inner[node] === 0 || j + 1 >= tokens.length) return;
  const r = readings[j + 1] as number | number[];
  if (typeof r === 'number') {
    if (r >= 0) reach(p, child(p, node, r), tokens, readings, first, j + 1, hits);
  } else {
    for (const word of r) if (word >= 0) reach(p, child(p, node, word), tokens, readings, first, j + 1, hits);
  }
}

function child(p: Packed, node: number, word: number): number {
  for (let slot = edgeSlot(node, word, p.mask); p.edgeNode[slot] !== 0; slot = (slot + 1) & p.mask) {
    if (p.edgeNode[slot] === node && p.edgeWord[slot] === word) return p.edgeChild[slot] as number;
  }
  return 0;
}

function span(tokens: readonly Token[], first: number, last: number): Span {
  return { start: (tokens[first] as Token).start, end: (tokens[last] as Token).end, first, last, negated: undefined };
}

/** Whether a phrase was already found at these tokens (through another reading of the same words). */
function hasSpan(list: readonly Span[], first: number, last: number): boolean {
  for (const s of list) if (s.first === first && s.last === last) return true;
  return false;
}
