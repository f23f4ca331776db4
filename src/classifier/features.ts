/**
 * Named features of a post that rules can use as conditions (`when.features`, `when.sentiment`): signals of
 * complaining and buying that no single phrase carries. Pure: computed from the normalized text and tokens,
 * the post's facts and the brand's handles.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { detect } from 'tinyld';
import type { Token } from './normalize.js';
import type { ClassifierInput } from './types.js';

/** The boolean features, as rules name them. */
export const FEATURE_NAMES = [
  'addressed',
  'addressed_to_support',
  'question',
  'first_person_bad_outcome',
  'duration',
  'money_or_order',
  'repeated_punctuation',
  'angry_emoji',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/** A post's features: the booleans and the sentiment, VADER's compound score in [-1, 1]. */
export type PostFeatures = Record<FeatureName, boolean> & { sentiment: number };

// ------------------------------------------------------------------ negation and intensifiers

/** Words that negate what follows in their clause, in the languages the sandbox speaks. */
const NEGATORS = new Set([
  'not',
  'no',
  'never',
  'nothing',
  'none',
  'nor',
  'neither',
  'without',
  'hardly',
  'cant',
  'cannot',
  'dont',
  'doesnt',
  'didnt',
  'isnt',
  'arent',
  'wasnt',
  'werent',
  'wont',
  'wouldnt',
  'couldnt',
  'shouldnt',
  'havent',
  'hasnt',
  'hadnt',
  'aint',
  'nobody',
  'nowhere',
  'nunca',
  'nada',
  'sin',
  'nicht',
  'kein',
  'keine',
  'keinen',
  'nie',
  'ohne',
  'pas',
  'jamais',
  'sans',
  'aucun',
  'aucune',
  'não',
  'nao',
  'nem',
  'sem',
  'non',
  'mai',
  'senza',
  'nessun',
  'nessuna',
  'niet',
  'geen',
  'nooit',
  'zonder',
]);
/** Words that strengthen the next sentiment word ("so bad", "really slow"), VADER's booster idea. */
const INTENSIFIERS = new Set([
  'very',
  'so',
  'really',
  'extremely',
  'totally',
  'absolutely',
  'completely',
  'utterly',
  'super',
  'incredibly',
  'seriously',
  'literally',
  'such',
  'too',
  'most',
  'muy',
  'tan',
  'sehr',
  'total',
  'très',
  'tres',
  'vraiment',
  'muito',
  'molto',
  'davvero',
  'zeer',
  'echt',
  'erg',
]);
// A negation reaches the end of its clause: punctuation or "but" in any of the languages ends it.
const CLAUSE_END = /[.!?;:,]|\b(?:but|aber|pero|mais|mas|ma|maar)\b/u;
const WORD = /^[\p{L}\p{N}]/u;
/** How many words after a negator it still applies to. */
const NEGATION_REACH = 3;

/**
 * Which tokens a negation covers and which an intensifier boosts: computed once per post, used by the
 * sentiment score (and open to any feature), so no rule has to spell out "not good" or "so bad".
 */
export function negationAndIntensity(text: string, tokens: readonly Token[]): { negated: boolean[]; boosted: boolean[] } {
  const negated = new Array<boolean>(tokens.length).fill(false);
  const boosted = new Array<boolean>(tokens.length).fill(false);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (NEGATORS.has(t.value)) {
      for (let j = i + 1; j < tokens.length && j <= i + NEGATION_REACH; j++) {
        if (CLAUSE_END.test(text.slice(tokens[j - 1]!.end, tokens[j]!.start))) break;
        // An emoji is the writer's mood, not something the negation denies ("still no signal 😡").
        if (WORD.test(tokens[j]!.value)) negated[j] = true;
      }
    } else if (INTENSIFIERS.has(t.value) && i + 1 < tokens.length) {
      boosted[i + 1] = true;
    }
  }
  return { negated, boosted };
}

// ------------------------------------------------------------------ sentiment

let lexicon: Map<string, number> | null = null;

/**
 * VADER's lexicon (7,500 words and emoticons rated by people for social media), read once from the
 * vader-sentiment package. Its own scorer is not used: it re-tokenizes every post and costs several times the
 * whole classifier per post, while our tokens are already there.
 */
function vaderLexicon(): Map<string, number> {
  if (lexicon !== null) return lexicon;
  const path = createRequire(import.meta.url).resolve('vader-sentiment/vader_lexicon.txt');
  const map = new Map<string, number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [word, valence] = line.split('\t');
    if (word && valence) map.set(word.replace(/'/g, ''), Number(valence));
  }
  for (const [emoji, valence] of Object.entries(EMOJI_VALENCE)) map.set(emoji, valence);
  lexicon = map;
  return map;
}

// VADER's constants: a negated word keeps -0.74 of its valence; a booster adds 0.293; alpha normalises the sum.
const NEGATION_SCALAR = -0.74;
const BOOST = 0.293;
const ALPHA = 15;
// Emoji VADER's word lexicon lacks but complaints use.
const EMOJI_VALENCE: Record<string, number> = {
  '😡': -3,
  '😠': -2.5,
  '🤬': -3.2,
  '😤': -2,
  '💢': -2,
  '👎': -2,
  '😒': -1.5,
  '🙄': -1.5,
  '😩': -2,
  '😫': -2,
  '😞': -2,
  '😔': -1.5,
  '😭': -2,
  '🤦': -1.5,
  '😢': -2,
  '👍': 1.5,
  '😍': 2.5,
  '❤': 2.5,
  '🙌': 2,
  '😊': 2,
  '🥰': 2.5,
};
const ANGRY = new Set(['😡', '😠', '🤬', '😤', '💢', '👎', '😒', '🙄', '😩', '😫', '🤦']);

/** What {@link negationAndIntensity} found in a post, worked out when first asked: a feature calls it or not. */
type NegationScope = () => ReturnType<typeof negationAndIntensity>;

/** VADER's compound score over the post's tokens, with negation and intensifiers from {@link negationAndIntensity}. */
export function sentimentOf(text: string, tokens: readonly Token[], scope: NegationScope = () => negationAndIntensity(text, tokens)): number {
  const lex = vaderLexicon();
  // Most words carry no sentiment: find the ones that do first, and work out negation only for a post that has some.
  let hits: number[] | null = null;
  for (let i = 0; i < tokens.length; i++) if (lex.has(tokens[i]!.value)) (hits ??= []).push(i);
  if (hits === null) return 0;
  const { negated, boosted } = scope();
  let sum = 0;
  for (const i of hits) {
    let v = lex.get(tokens[i]!.value)!;
    if (boosted[i]) v += v > 0 ? BOOST : -BOOST;
    if (negated[i]) v *= NEGATION_SCALAR;
    sum += v;
  }
  if (sum === 0) return 0;
  // Exclamation marks strengthen the whole post, as in VADER (at most four count).
  let bangs = 0;
  for (let i = text.indexOf('!'); i !== -1 && bangs < 4; i = text.indexOf('!', i + 1)) bangs++;
  sum += (sum > 0 ? 1 : -1) * bangs * 0.292;
  return Math.round((sum / Math.sqrt(sum * sum + ALPHA)) * 10_000) / 10_000;
}

// ------------------------------------------------------------------ post shape

const FIRST_PERSON = new Set([
  'i',
  'im',
  'ive',
  'id',
  'ill',
  'my',
  'me',
  'mine',
  'we',
  'weve',
  'our',
  'us',
  'yo',
  'mi',
  'mis',
  'me',
  'nos',
  'nuestro',
  'nuestra',
  'ich',
  'mein',
  'meine',
  'meinen',
  'mir',
  'mich',
  'wir',
  'unser',
  'unsere',
  'je',
  'j',
  'mon',
  'ma',
  'mes',
  'moi',
  'nous',
  'notre',
  'eu',
  'meu',
  'minha',
  'meus',
  'minhas',
  'nós',
  'nosso',
  'nossa',
  'io',
  'mio',
  'mia',
  'miei',
  'mie',
  'noi',
  'nostro',
  'nostra',
  'ik',
  'mijn',
  'wij',
  'ons',
  'onze',
]);
/** Words of a bad outcome: broken, lost, charged, cancelled, waiting, still... in the sandbox's languages. */
const BAD_OUTCOME = new Set([
  'broke',
  'broken',
  'lost',
  'charged',
  'overcharged',
  'cancelled',
  'canceled',
  'waiting',
  'waited',
  'still',
  'stuck',
  'missing',
  'damaged',
  'delayed',
  'late',
  'failed',
  'fails',
  'declined',
  'locked',
  'wrong',
  'refused',
  'crashed',
  'crashes',
  'crashing',
  'cracked',
  'stopped',
  'disconnected',
  'dropped',
  'never',
  'leaking',
  'faulty',
  'defective',
  'double',
  'twice',
  'again',
  'kicked',
  'stranded',
  'hacked',
  'scammed',
  'ignored',
  'denied',
  'lied',
  'useless',
  'roto',
  'rota',
  'perdido',
  'perdida',
  'cobrado',
  'cobraron',
  'cancelado',
  'cancelada',
  'esperando',
  'todavía',
  'todavia',
  'sigue',
  'kaputt',
  'verloren',
  'storniert',
  'warte',
  'noch',
  'immer',
  'abgebucht',
  'cassé',
  'casse',
  'perdu',
  'annulé',
  'annule',
  'attends',
  'toujours',
  'débité',
  'quebrado',
  'quebrada',
  'ainda',
  'cobraram',
  'rotto',
  'rotta',
  'perso',
  'addebitato',
  'annullato',
  'aspetto',
  'ancora',
  'kapot',
  'kwijt',
  'geannuleerd',
  'wacht',
  'steeds',
]);
/** How far apart (in words) the person and the outcome may be. */
const OUTCOME_REACH = 8;

const QUESTION_START = new Set([
  'how',
  'why',
  'what',
  'when',
  'where',
  'who',
  'which',
  'can',
  'could',
  'is',
  'are',
  'do',
  'does',
  'did',
  'will',
  'would',
  'any',
  'anyone',
  'whats',
  'hows',
  'wheres',
  'whys',
  'whos',
  'whens',
  'qué',
  'que',
  'cómo',
  'como',
  'cuándo',
  'dónde',
  'por',
  'wie',
  'warum',
  'wann',
  'wo',
  'was',
  'gibt',
  'pourquoi',
  'comment',
  'quand',
  'où',
  'est',
  'quando',
  'onde',
  'porque',
  'perché',
  'come',
  'dove',
  'waarom',
  'hoe',
  'wanneer',
  'waar',
]);

const UNITS = String.raw`(?:min(?:ute)?s?|h(?:ou)?rs?|hours?|days?|nights?|weeks?|wks?|months?|días?|dias?|horas?|semanas?|meses|tage?n?|stunden?|wochen?|monate?n?|jours?|heures?|semaines?|mois|giorni|ore|settimane|mesi|dagen|uur|weken|maanden)`;
const COUNT = String.raw`(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|several|few|couple of|many|dos|tres|zwei|drei|deux|trois|due|tre|twee|drie)`;
// "Since" and what follows it in the sandbox's languages: a weekday, yesterday, this morning, last (week). Italian
// "da" is also Portuguese "of the" and German "there, as" ("da segunda", "da 2ª via", "da hier"): it counts only
// before the Italian words (SINCE_WHEN_IT).
const SINCE = '(?:since|seit|depuis|desde|dal|sinds|od|sedan)';
const SINCE_WHEN_IT = String.raw`(?:ieri|stamattina|la settimana scorsa|lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica)`;
const SINCE_WHEN = String.raw`(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|last|this morning|early|the \d|\d|gestern|heute morgen|letzte[nmrs]?|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|hier|ce matin|la semaine dernière|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|ayer|esta mañana|la semana pasada|el lunes|el martes|el miércoles|el jueves|el viernes|el sábado|el domingo|ontem|hoje de manhã|a semana passada|segunda|terça|quarta|quinta|sexta|sábado|domingo|gisteren|vanochtend|vorige|maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|wczoraj|igår|${SINCE_WHEN_IT})`;
// A wait with no number: "for weeks", "seit Tagen", "depuis des jours", "desde hace días", "há dias", "da giorni".
const UNCOUNTED = String.raw`\b(?:for (?:hours|days|weeks|months)(?! out)|seit (?:stunden|tagen|wochen|monaten)|depuis des (?:heures|jours|semaines|mois)|desde hace (?:horas|días|dias|semanas|meses)|há (?:horas|dias|semanas|meses)|da (?:ore|giorni|settimane|mesi)|al (?:uren|dagen|weken|maanden))\b`;
const DURATION = new RegExp(
  [
    String.raw`\b${COUNT}\s*(?:\+\s*)?${UNITS}\b`,
    String.raw`\b${SINCE}\s+${SINCE_WHEN}`,
    String.raw`\bda\s+${SINCE_WHEN_IT}`,
    UNCOUNTED,
    String.raw`\b(?:day|dia|día|tag|jour|giorno|dag)\s+\d+\b`,
    String.raw`\b(?:all day|all week|all morning|all night|forever|ages)\b`,
  ].join('|'),
  'u',
);
const MONEY_OR_ORDER = new RegExp(
  [
    String.raw`[$£€¥₹]\s?\d`,
    String.raw`\d\s?(?:usd|eur|gbp|dollars|euros?|pounds|quid|bucks|reais|r\$)\b`,
    String.raw`\b(?:order|booking|ticket|invoice|tracking|reference|ref|case|claim|account|confirmation|pedido|reserva|bestellung|buchung|commande|réservation|encomenda|ordine|prenotazione|bestelling|boeking)\s*(?:no\.?|number|nr\.?|n°|nº|num|#|id)?\s*:?\s*[a-z]{0,3}\d{4,}`,
    String.raw`\b\d{6,}\b`,
  ].join('|'),
  'u',
);
const REPEATED_PUNCTUATION = /[!?]{2,}|\?\s*!|!\s*\?/;
// A handle that names a support desk: @BrandSupport, @BrandCare(s), @BrandHelp, @Brand_CS, @AskBrand.
const SUPPORT_HANDLE = /(?:help|support|care|cares|service|services|cs|assist|desk)$|^ask/;

/** The handles the post opens with ("@brand @brandhelp my order..."), lower case, without `@`. */
export function leadingMentions(raw: string): string[] {
  const m = /^\s*((?:[@＠][\p{L}\p{N}_]+[\s,:]*)+)/u.exec(raw);
  if (m === null) return [];
  return [...m[1]!.matchAll(/[@＠]([\p{L}\p{N}_]+)/gu)].map((x) => x[1]!.toLowerCase());
}

/** Verbs that, a few words before "again", make it a return visit or purchase ("we'd book again"), not trouble again. */
const COMING_BACK = new Set(['book', 'buy', 'stay', 'fly', 'shop', 'visit', 'back']);
/** How many words before "again" such a verb may stand ("will fly with you again"). */
const COMING_BACK_REACH = 4;

/** "had to book again", "need to order again": the same thing done twice because of trouble. */
const FORCED = new Set(['had', 'have', 'has', 'having', 'need', 'needed', 'needs']);

/**
 * Whether the "again" at `i` is a customer coming back ("we would book again", "will fly with you again"), not
 * trouble again. Not when a negation covers the verb ("never fly with you again" is a complaint) or it is forced
 * ("had to book again").
 */
function comingBack(tokens: readonly Token[], i: number, scope: NegationScope): boolean {
  for (let j = i - 1; j >= 0 && j >= i - COMING_BACK_REACH; j--) {
    if (!COMING_BACK.has(tokens[j]!.value)) continue;
    if (scope().negated[j]) return false;
    return !(j >= 2 && tokens[j - 1]!.value === 'to' && FORCED.has(tokens[j - 2]!.value));
  }
  return false;
}

function firstPersonBadOutcome(tokens: readonly Token[], scope: NegationScope): boolean {
  let lastPerson = -Infinity;
  let lastBad = -Infinity;
  for (let i = 0; i < tokens.length; i++) {
    const v = tokens[i]!.value;
    if (FIRST_PERSON.has(v)) {
      if (i - lastBad <= OUTCOME_REACH) return true;
      lastPerson = i;
    }
    // "book again", "fly with you again": a customer coming back, not trouble again.
    if (BAD_OUTCOME.has(v) && !(v === 'again' && comingBack(tokens, i, scope))) {
      if (i - lastPerson <= OUTCOME_REACH) return true;
      lastBad = i;
    }
  }
  return false;
}

function isQuestion(raw: string, tokens: readonly Token[], skip: number): boolean {
  if (raw.includes('?') || raw.includes('¿')) return true;
  const first = tokens[skip]?.value;
  return first !== undefined && QUESTION_START.has(first);
}

/**
 * Compute a post's features. `addressed`: it opens with an @mention of one of the brand's handles (any handle
 * when they are not configured) or is a reply; `addressed_to_support`: one of those handles names a support desk.
 */
export function computeFeatures(input: ClassifierInput, text: string, tokens: readonly Token[]): PostFeatures {
  const mentions = leadingMentions(input.text);
  const own = input.brandHandles;
  const toBrand = own === undefined || own.size === 0 ? mentions : mentions.filter((h) => own.has(h));
  let angry = false;
  for (const t of tokens) if (ANGRY.has(t.value)) angry = true;
  // Negation is worked out once per post, and only if a feature asks.
  let negation: ReturnType<typeof negationAndIntensity> | undefined;
  const scope: NegationScope = () => (negation ??= negationAndIntensity(text, tokens));
  return {
    addressed: toBrand.length > 0 || input.isReply,
    addressed_to_support: toBrand.some((h) => SUPPORT_HANDLE.test(h)),
    question: isQuestion(input.text, tokens, mentions.length),
    first_person_bad_outcome: firstPersonBadOutcome(tokens, scope),
    duration: DURATION.test(text),
    money_or_order: MONEY_OR_ORDER.test(text),
    repeated_punctuation: REPEATED_PUNCTUATION.test(input.text),
    angry_emoji: angry || /(?:^|\s)(?:>:\(|:-?\(|:'\(|ಠ_ಠ)/.test(input.text),
    sentiment: sentimentOf(text, tokens, scope),
  };
}

/** The languages the sandbox speaks: detection picks among these, never an unlikely one for a short post. */
const SANDBOX_LANGS = ['en', 'es', 'de', 'fr', 'pt', 'it', 'nl', 'pl', 'sv'];

/**
 * The post's language by tinyld, for a post whose platform gave none. Costs far more than classifying, so
 * classify() asks only when a rule or phrase scoped by language could apply.
 */
export function detectLanguage(text: string): string | null {
  const lang = detect(text, { only: SANDBOX_LANGS });
  return lang === '' ? null : lang;
}
