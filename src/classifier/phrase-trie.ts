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
 * an array per node. With 10,000 rules the nodes number tens of thousands and the arrays megabytes, past the
 * processor's own caches, so what a step reads is laid out together: a probe of the word table or of the edges
 * reads one 16-byte slot, and a node's phrases and whether it has children are two adjacent words.
 */
interface Packed {
  /** Every word a phrase holds → its word id and the node it starts a phrase at: see {@link wordSlot}. */
  words: WordTable;
  /** The other edges, open addressing, {@link SLOT} words a slot: (node, word id) → child; node 0 marks an empty slot. */
  mask: number;
  edges: Int32Array;
  /**
   * By node, two words: where its phrase ids start in `ends`, and where they end, bitwise negated (`~`) when the node
   * has children. The root is node 0, no one's child.
   */
  nodes: Int32Array;
  ends: Int32Array;
}

/** Int32 words a slot of either table (16 bytes: four slots a 64-byte line). */
const SLOT = 4;
const EDGE_NODE = 0;
const EDGE_WORD = 1;
const EDGE_CHILD = 2;

/**
 * Every word a phrase holds, by word id, and a hash table to find a word's id: {@link SLOT} int32 words a slot,
 * the word's hash, its id + 1 (0: an empty slot), where the word starts in `chars` and the node a phrase starting
 * with the word reaches (0: none). A Map of strings did the same, but with 10,000 rules it holds ~40,000 words spread
 * over the heap (its buckets, its entries, the keys' strings), and its lookups became the profile's largest line at
 * that size. Here the slots are one array and the words one string; a word's characters are compared only when the
 * hashes match.
 */
interface WordTable {
  slots: Int32Array;
  mask: number;
  /** The words, each followed by U+0000 (which no token holds). */
  chars: string;
}

const SLOT_HASH = 0;
const SLOT_ID = 1;
const SLOT_AT = 2;
const SLOT_ROOT = 3;

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

/** Where the first free slot from `slot` on starts in `table` (linear probing): the one whose `empty` word is 0. */
function freeSlot(table: Int32Array, slot: number, mask: number, empty: number): number {
  while (table[SLOT * slot + empty] !== 0) slot = (slot + 1) & mask;
  return SLOT * slot;
}

function wordTable(words: readonly string[], rootNext: Int32Array): WordTable {
  const size = slotsFor(words.length);
  const mask = size - 1;
  const slots = new Int32Array(SLOT * size);
  let at = 0;
  words.forEach((word, id) => {
    const h = hashWord(word);
    const base = freeSlot(slots, h & mask, mask, SLOT_ID);
    slots[base + SLOT_HASH] = h;
    slots[base + SLOT_ID] = id + 1;
    slots[base + SLOT_AT] = at;
    slots[base + SLOT_ROOT] = rootNext[id] as number;
    at += word.length + 1;
  });
  return { slots, mask, chars: words.map((w) => `${w}\u0000`).join('') };
}

/** Where a word's slot starts in the table's `slots`, or -1 when no phrase holds the word. */
function wordSlot(table: WordTable, word: string): number {
  const h = hashWord(word);
  const { slots, mask, chars } = table;
  for (let slot = h & mask; ; slot = (slot + 1) & mask) {
    const base = SLOT * slot;
    if (slots[base + SLOT_ID] === 0) return -1;
    if (slots[base + SLOT_HASH] === h) {
      const at = slots[base + SLOT_AT] as number;
      if (chars.startsWith(word, at) && chars.charCodeAt(at + word.length) === 0) return base;
    }
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
  const table = new Int32Array(SLOT * size);
  for (const [node, word, child] of edges) {
    if (node === 0) {
      rootNext[word] = child;
      continue;
    }
    const base = freeSlot(table, edgeSlot(node, word, mask), mask, EDGE_NODE);
    table[base + EDGE_NODE] = node;
    table[base + EDGE_WORD] = word;
    table[base + EDGE_CHILD] = child;
  }
  const info = new Int32Array(2 * nodes.length);
  const ends: number[] = [];
  nodes.forEach((node, n) => {
    info[2 * n] = ends.length;
    ends.push(...node.phrases);
    info[2 * n + 1] = node.children.size > 0 ? ~ends.length : ends.length;
  });
  return { words: wordTable([...words.keys()], rootNext), mask, edges: table, nodes: info, ends: Int32Array.from(ends) };
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
    const into = foundPhrases(this.size);
    const spans = this.scanInto(tokens, into);
    return new Map(spans.map((list, slot) => [into.ids[slot] as number, list]));
  }

  /**
   * {@link scan} for classify(): the phrases found go into `into`, reused from post to post (the previous post's
   * bits are cleared first), and their spans are returned by slot, in the order found.
   */
  scanInto(tokens: readonly Token[], into: FoundPhrases): Span[][] {
    const packed = (this.#packed ??= pack(this.#root));
    const { found, ids } = into;
    // The previous post's bits, even if its scan threw half way: each id is listed as its bit is set.
    for (let k = 0; k < into.count; k++) found[(ids[k] as number) >>> 5] = 0;
    into.count = 0;
    // A fresh list each post: a long-lived one would point at the post's young objects and slow every collection.
    const spans: Span[][] = [];
    // Each token's words, looked up once: its value's slot in the word table, then its other readings' (-1 for a
    // word no phrase holds).
    const { slots } = packed.words;
    const readings: (number | number[])[] = new Array(tokens.length);
    for (let j = 0; j < tokens.length; j++) {
      const token = tokens[j] as Token;
      const word = wordSlot(packed.words, token.value);
      readings[j] = token.alts === undefined ? word : [word, ...token.alts.map((alt) => wordSlot(packed.words, alt))];
    }
    const walk: Walk = { p: packed, tokens, readings, into, spans };
    for (let i = 0; i < tokens.length; i++) {
      const r = readings[i] as number | number[];
      if (typeof r === 'number') {
        if (r >= 0) reach(walk, slots[r + SLOT_ROOT] as number, i, i);
      } else {
        for (const word of r) if (word >= 0) reach(walk, slots[word + SLOT_ROOT] as number, i, i);
      }
    }
    return spans;
  }
}

/**
 * Where {@link PhraseTrie.scanInto} notes the phrases it finds: typed arrays sized by the number of phrases, made
 * once per ruleset and reused, so a post's scan allocates nothing for them.
 */
export interface FoundPhrases {
  /** One bit per phrase id: set when the phrase occurs in the post scanned last. */
  found: Uint32Array;
  /** The ids whose bits are set, in their first `count` entries, in the order found (a phrase's slot). */
  ids: Int32Array;
  count: number;
  /** By phrase id, valid where its bit is set: its slot, the place of its spans in the list the scan returned. */
  slotOf: Int32Array;
}

/** Empty {@link FoundPhrases} for a trie of `phraseCount` phrases (ids 0 to phraseCount - 1). */
export function foundPhrases(phraseCount: number): FoundPhrases {
  return { found: new Uint32Array(Math.ceil(phraseCount / 32)), ids: new Int32Array(phraseCount), count: 0, slotOf: new Int32Array(phraseCount) };
}

/** One scan's state, passed down the walk. */
interface Walk {
  p: Packed;
  tokens: readonly Token[];
  readings: readonly (number | number[])[];
  into: FoundPhrases;
  spans: Span[][];
}

// Module functions rather than closures: scan runs for every post, and closures cost an allocation each.
/** The walk has reached `node` (0: nowhere) on tokens `first` to `j`: note the phrases ending there, go on. */
function reach(w: Walk, node: number, first: number, j: number): void {
  if (node === 0) return;
  const { p, tokens, into, spans } = w;
  const last = p.nodes[2 * node + 1] as number;
  const end = last < 0 ? ~last : last;
  for (let k = p.nodes[2 * node] as number; k < end; k++) {
    const id = p.ends[k] as number;
    const bit = 1 << (id & 31);
    const word = (into.found[id >>> 5] as number) | 0;
    if ((word & bit) === 0) {
      into.found[id >>> 5] = word | bit;
      into.slotOf[id] = into.count;
      into.ids[into.count++] = id;
      spans.push([span(tokens, first, j)]);
    } else {
      const list = spans[into.slotOf[id] as number] as Span[];
      if (!hasSpan(list, first, j)) list.push(span(tokens, first, j));
    }
  }
  if (last >= 0 || j + 1 >= tokens.length) return;
  const r = w.readings[j + 1] as number | number[];
  const slots = p.words.slots;
  if (typeof r === 'number') {
    if (r >= 0) reach(w, child(p, node, slots[r + SLOT_ID] as number), first, j + 1);
  } else {
    for (const word of r) if (word >= 0) reach(w, child(p, node, slots[word + SLOT_ID] as number), first, j + 1);
  }
}

/** The child of `node` by the word whose id + 1 is `word1`, or 0. */
function child(p: Packed, node: number, word1: number): number {
  const { edges, mask } = p;
  for (let slot = edgeSlot(node, word1 - 1, mask); ; slot = (slot + 1) & mask) {
    const base = SLOT * slot;
    const at = edges[base + EDGE_NODE] as number;
    if (at === 0) return 0;
    if (at === node && edges[base + EDGE_WORD] === word1 - 1) return edges[base + EDGE_CHILD] as number;
  }
}

function span(tokens: readonly Token[], first: number, last: number): Span {
  return { start: (tokens[first] as Token).start, end: (tokens[last] as Token).end, first, last, negated: undefined };
}

/** Whether a phrase was already found at these tokens (through another reading of the same words). */
function hasSpan(list: readonly Span[], first: number, last: number): boolean {
  for (const s of list) if (s.first === first && s.last === last) return true;
  return false;
}
