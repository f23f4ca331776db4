/**
 * Regular expressions that ops write in rules files, made safe to run on every post in a worker.
 *
 * JavaScript's regex engine backtracks, so a pattern such as `(a+)+$` takes exponential time on a short
 * hostile post and blocks the worker's event loop. Without a native linear-time engine, safety comes from
 * the pattern's shape, checked once when the ruleset is loaded:
 * - refused: backreferences and lookarounds (not regular, and the usual source of blow-ups), a quantifier on
 *   a group that holds another quantifier or an alternation (`(a+)+`, `(a|ab)*`: exponential), patterns
 *   longer than {@link PATTERN_MAX} characters;
 * - bounded: `*`, `+` and `{n,}` repeat at most {@link REPEAT_MAX} times, and the product of every
 *   quantifier's upper bound must stay within {@link BACKTRACK_BUDGET} (`a*a*a*a*b` is polynomial but still
 *   too slow); the pattern sees only the first {@link REGEX_INPUT_MAX} characters of the normalized post.
 * Together these bound the work per post to about REGEX_INPUT_MAX × BACKTRACK_BUDGET steps.
 */

/** Longest pattern accepted, in characters. */
export const PATTERN_MAX = 300;
/** `*`, `+` and `{n,}` become `{0,20}`, `{1,20}`, `{n,max(n,20)}`. */
export const REPEAT_MAX = 20;
/** Upper bound on the product of the quantifiers' maximum counts. */
export const BACKTRACK_BUDGET = 10_000;
/** A regex is run on this many leading characters of the normalized text. */
export const REGEX_INPUT_MAX = 1_000;

/** A pattern that passed the check: the bounded source and the compiled RegExp (global, unicode). */
export interface SafeRegex {
  source: string;
  regex: RegExp;
}

interface Frame {
  quantified: boolean;
  alternation: boolean;
}

/**
 * Check a pattern and compile its bounded form, or return why it is refused (a sentence for the rules file's
 * author). Patterns are matched against normalized text, which is lower case.
 */
export function compileSafeRegex(pattern: string): SafeRegex | { error: string } {
  if (pattern.length > PATTERN_MAX) return { error: `longer than ${PATTERN_MAX} characters` };
  const stack: Frame[] = [{ quantified: false, alternation: false }];
  let out = '';
  let budget = 1;
  // The group that just closed (its frame), so a quantifier right after it can be checked.
  let lastGroup: Frame | null = null;
  let i = 0;
  const top = () => stack[stack.length - 1] as Frame;

  while (i < pattern.length) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return { error: 'ends with a lone backslash' };
      if (/[1-9]/.test(next) || next === 'k') return { error: 'backreferences are not allowed' };
      let len = 2;
      if ((next === 'p' || next === 'P' || next === 'u') && pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i);
        if (close < 0) return { error: `unclosed "\\${next}{"` };
        len = close - i + 1;
      }
      out += pattern.slice(i, i + len);
      i += len;
      lastGroup = null;
      continue;
    }
    if (ch === '[') {
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      if (j >= pattern.length) return { error: 'unclosed "["' };
      out += pattern.slice(i, j + 1);
      i = j + 1;
      lastGroup = null;
      continue;
    }
    if (ch === '(') {
      if (/^\(\?<?[=!]/.test(pattern.slice(i, i + 4))) return { error: 'lookahead and lookbehind are not allowed' };
      stack.push({ quantified: false, alternation: false });
      // The group's own prefix, "?:" or "?<name>", is not a quantifier.
      const prefix = /^\((?:\?:|\?<[A-Za-z_$][\w$]*>)?/.exec(pattern.slice(i))?.[0] ?? '(';
      out += prefix;
      i += prefix.length;
      lastGroup = null;
      continue;
    }
    if (ch === ')') {
      if (stack.length === 1) return { error: 'unmatched ")"' };
      lastGroup = stack.pop() as Frame;
      if (lastGroup.quantified) top().quantified = true;
      out += ch;
      i++;
      continue;
    }
    if (ch === '|') {
      top().alternation = true;
      out += ch;
      i++;
      lastGroup = null;
      continue;
    }
    const q = /^(?:\*|\+|\?|\{(\d+)(,(\d*))?\})/.exec(pattern.slice(i));
    if (q !== null) {
      const min = ch === '+' ? 1 : ch === '{' ? Number(q[1]) : 0;
      let max: number;
      if (ch === '?') max = 1;
      else if (ch === '{') max = q[2] === undefined ? min : q[3] === '' ? Math.max(min, REPEAT_MAX) : Number(q[3]);
      else max = REPEAT_MAX;
      if (max < min) return { error: `quantifier ${q[0]} has its numbers out of order` };
      if (max > 1 && lastGroup !== null && (lastGroup.quantified || lastGroup.alternation)) {
        return {
          error: lastGroup.quantified
            ? 'a repeated group holds another quantifier (nested quantifiers backtrack exponentially)'
            : 'a repeated group holds an alternation (it can backtrack exponentially); repeat a character class instead',
        };
      }
      budget *= Math.max(max, 1);
      if (budget > BACKTRACK_BUDGET) {
        return { error: `too many repetitions combined (the product of the quantifiers' limits exceeds ${BACKTRACK_BUDGET})` };
      }
      top().quantified = true;
      out += ch === '?' ? '?' : `{${min},${max}}`;
      i += q[0].length;
      // A lazy quantifier's "?" belongs to it.
      if (pattern[i] === '?') {
        out += '?';
        i++;
      }
      lastGroup = null;
      continue;
    }
    out += ch;
    i++;
    lastGroup = null;
  }
  if (stack.length > 1) return { error: 'unclosed "("' };
  try {
    return { source: out, regex: new RegExp(out, 'gu') };
  } catch (err) {
    return { error: `not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}` };
  }
}
