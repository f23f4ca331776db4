/**
 * The material the sandbox connector builds posts from: template posts across industries,
 * reply texts for follow-ups, and the vocabulary that fills template slots. All invented for the
 * sandbox (brands and people are fictional); nothing here comes from the evaluation sets.
 *
 * Slots a template may use, filled per post: `{brand}` (brand name), `{at}` (the brand's @handle
 * on X, its name on Facebook), `{competitor}`, `{product}`, `{city}`, `{qty}`, `{order}`,
 * `{days}`, `{amount}`.
 */

/** Industries the templates cover. */
export type SandboxIndustry = 'telecom' | 'saas' | 'airline' | 'retail' | 'banking' | 'food' | 'energy';

/**
 * What the template's author meant the post to be (lead, case or none). A writing aid that keeps
 * the mix deliberate, not a verified label: never use the sandbox as an evaluation set.
 */
export type SandboxIntent = 'lead' | 'case' | 'none';

/** One template post. */
export interface SandboxTemplate {
  industry: SandboxIndustry;
  intent: SandboxIntent;
  text: string;
  /** Language tag when the text is not English. */
  lang?: string;
  /** A safety problem a support team should treat as urgent. */
  urgent?: boolean;
}

/** A reply text for a post in an existing conversation. */
export interface SandboxReply {
  text: string;
  /** The intent of the conversation's root post it fits after (`any`: fits everywhere). */
  after: SandboxIntent | 'any';
  /** Who would write it: the root's author following up, someone else, or either. */
  by: 'author' | 'other' | 'any';
  intent: SandboxIntent;
  lang?: string;
}

/** A brand the sandbox posts talk to. */
export interface SandboxBrand {
  name: string;
  /** X handle without the '@'. */
  handle: string;
}

/** The slot vocabulary of one industry. */
export interface SandboxVocabulary {
  brands: readonly SandboxBrand[];
  competitors: readonly string[];
  products: readonly string[];
}

export const SANDBOX_VOCABULARY: Readonly<Record<SandboxIndustry, SandboxVocabulary>> = {
  telecom: {
    brands: [
      { name: 'Nimbus Mobile', handle: 'nimbusmobile' },
      { name: 'Skyline Telecom', handle: 'skylinetel' },
    ],
    competitors: ['Orbitel', 'LinkWave', 'Telemax'],
    products: ['5G Unlimited plan', 'Fibre 500', 'family plan', 'eSIM plan', 'home broadband'],
  },
  saas: {
    brands: [
      { name: 'Acme Cloud', handle: 'acmecloud' },
      { name: 'Tasklane', handle: 'tasklaneapp' },
    ],
    competitors: ['Boardly', 'Sheetwise', 'Planova'],
    products: ['Pro plan', 'SSO add-on', 'Enterprise plan', 'API access', 'Business tier'],
  },
  airline: {
    brands: [
      { name: 'Aerolux', handle: 'aerolux' },
      { name: 'BlueJet Air', handle: 'bluejetair' },
    ],
    competitors: ['SkyHop', 'FlyNorth', 'Corsa Air'],
    products: ['premium economy seat', 'lounge pass', 'seat with extra legroom', 'business class fare'],
  },
  retail: {
    brands: [
      { name: 'ShopNest', handle: 'shopnest' },
      { name: 'Cartwell', handle: 'cartwellstore' },
    ],
    competitors: ['MegaMart', 'Bazaaro', 'Quikbuy'],
    products: ['standing desk', 'air fryer', 'running shoes', '4K monitor', 'office chair'],
  },
  banking: {
    brands: [
      { name: 'Ferro Bank', handle: 'ferrobank' },
      { name: 'Northgate Bank', handle: 'northgatebank' },
    ],
    competitors: ['CoinCrest', 'Unity Savings', 'Pennant Bank'],
    products: ['business account', 'credit card', 'savings account', 'travel card', 'mortgage'],
  },
  food: {
    brands: [
      { name: 'Munchly', handle: 'munchly' },
      { name: 'DashBite', handle: 'dashbite' },
    ],
    competitors: ['FoodRush', 'GrubGo', 'Platto'],
    products: ['Plus membership', 'weekly meal box', 'family meal deal', 'lunch subscription'],
  },
  energy: {
    brands: [
      { name: 'Voltara Energy', handle: 'voltaraenergy' },
      { name: 'Greenline Power', handle: 'greenlinepower' },
    ],
    competitors: ['BrightGrid', 'Hearth Gas', 'Solvi'],
    products: ['fixed-rate tariff', 'heat pump', 'solar panel set', 'EV charger', 'smart meter'],
  },
};

export const SANDBOX_CITIES: readonly string[] = [
  'Madrid',
  'Berlin',
  'Lyon',
  'Leeds',
  'Austin',
  'Toronto',
  'Dublin',
  'Munich',
  'Seville',
  'Marseille',
  'Manchester',
  'Denver',
  'Porto',
  'Hamburg',
  'Bristol',
  'Valencia',
];

type Entry = string | { text: string; lang?: string; urgent?: boolean };

function templates(industry: SandboxIndustry, intent: SandboxIntent, entries: readonly Entry[]): SandboxTemplate[] {
  return entries.map((entry) => (typeof entry === 'string' ? { industry, intent, text: entry } : { industry, intent, ...entry }));
}

export const SANDBOX_TEMPLATES: readonly SandboxTemplate[] = [
  ...templates('telecom', 'lead', [
    '{at} how much is the {product} if I bring my own phone? thinking of leaving {competitor}',
    'Done with {competitor} 😤 third dropped call today. {at} what deals do you have for new customers?',
    'Does {brand} have fibre coverage in {city}? Moving next month and need home internet asap',
    "{at} we're a team of {qty} looking for business mobile contracts, who do I talk to about a quote?",
    'Is the {brand} {product} any good? Considering switching, anyone in {city} using it?',
    '{at} can I keep my number if I switch from {competitor}? want to sign up this week',
    { text: 'Hola {at}, ¿cuánto cuesta el {product} para una familia de 4? Quiero cambiarme de {competitor}', lang: 'es' },
    '{at} do you do student discounts on the {product}? 🙏',
  ]),
  ...templates('telecom', 'case', [
    "{at} no signal in {city} since this morning, can't call or text. What's going on??",
    'Internet down AGAIN 😡 {at} this is the third outage this week #fail',
    '{at} you charged me twice for my {product} this month, ref {order}. I want the extra {amount} back',
    "{at} technician was supposed to come between 8-12, it's 3pm and nobody showed up. Took the day off for this",
    'My eSIM stopped working after the update and your chat bot just loops me back to the start. {at} please help',
    '{at} been on hold for 2 hours. I want to cancel my contract and nobody answers',
    { text: 'Your engineer left an exposed live cable on the pavement outside my house in {city}, kids walk past it every day. {at} URGENT', urgent: true },
    { text: '{at} Seit drei Tagen kein Internet in {city}. Wann wird das endlich behoben?', lang: 'de' },
    '{at} my bill went up by {amount} with no notice, nobody told me about a price change',
    'Great, love paying for 5G and getting 3G speeds 🙃 {at}',
  ]),
  ...templates('telecom', 'none', [
    'Shoutout to the {brand} store team in {city}, sorted my new phone in 10 minutes 👏',
    '{brand} announces 5G rollout to 40 more towns by spring https://news.example.com/5g-rollout',
    'Network was down earlier but all sorted now, thanks {at} 👍',
    "We're hiring! {brand} is looking for retail advisors in {city}. Apply: https://careers.example.com/retail #jobs",
    '🎁 FREE phone giveaway!!! Follow + RT and DM us your number 👉 https://bit.example/fr33-ph0ne',
    'my phone: 3% battery. me: still scrolling 😂 #mondaymood',
  ]),

  ...templates('saas', 'lead', [
    "{at} do you offer annual pricing on the {product}? We're about {qty} seats",
    'Evaluating {brand} vs {competitor} for a team of {qty}, which one handles permissions better?',
    '{at} can we get a demo next week? Our ops team is outgrowing spreadsheets',
    'Moving off {competitor} after their price hike. {at} is there a migration tool and a trial?',
    '{at} is there a nonprofit discount? small charity, 8 people',
    { text: '{at} Wir möchten den {product} für unser Büro in {city} testen, gibt es eine Testphase?', lang: 'de' },
    'Anyone using {brand} with SSO? {at} which plan includes the {product}?',
    '{at} looking for a reseller partnership in {city}, who handles partners?',
  ]),
  ...templates('saas', 'case', [
    '{at} dashboard has been returning 500 errors for an hour, our whole team is blocked',
    "Can't log in to {brand}, the password reset email never arrives 😩 {at}",
    '{at} you billed us for {qty} seats but we downgraded last month. Invoice {order}',
    'API rate limits changed without notice and broke our integration. {at} this is unacceptable',
    "{at} how do I export all my projects to CSV? can't find it anywhere in settings",
    "Sooo {brand} just deleted a week of my work?? {at} pls tell me there's a backup",
    "{at} we'd like to cancel and get a refund for the unused months, support hasn't replied in {days} days",
    { text: '{at} impossible de me connecter depuis ce matin, erreur 403 sur toutes les pages', lang: 'fr' },
    '{at} the mobile app crashes every time I open a shared board. iOS, latest version',
  ]),
  ...templates('saas', 'none', [
    "Just shipped our Q4 roadmap entirely in {brand}. Honestly one of the nicer tools I've used ✨",
    '{brand} raises $40M Series C to expand in Europe https://techwire.example.com/series-c',
    "Me: I'll be productive today. Also me: reorganizes {brand} boards for 3 hours 😂",
    'Login issue from this morning is fixed, all sorted now thanks {at}!',
    "We're hiring a Senior Backend Engineer (TypeScript, Postgres), remote EU https://jobs.example.com/backend #hiring",
    'Our webinar on async teamwork starts in 10 min! Join here: https://events.example.com/webinar #productivity',
  ]),

  ...templates('airline', 'lead', [
    '{at} how much for a group booking for {qty} people to {city} in March?',
    '{at} does the {product} include checked bags? thinking of booking for our honeymoon 💍',
    'Never flying {competitor} again. {at} do you fly to {city} from here and what are the fares like?',
    '{at} we need corporate travel rates for our company, around {qty} trips a month. Who do we contact?',
    { text: '{at} ¿tienen vuelos directos a {city} en diciembre? ¿precio ida y vuelta?', lang: 'es' },
    '{at} can I upgrade to a {product} with miles or only cash?',
    'Looking at {brand} or {competitor} for a trip to {city} with 2 toddlers, which one is more family-friendly?',
  ]),
  ...templates('airline', 'case', [
    '{at} flight delayed 5 hours, missed my connection in {city} and nobody at the desk can help 😡',
    '{at} you lost my bag on the flight to {city}. Day {days} and still no update on claim {order}',
    '{at} I was charged for a {product} I never got, please refund the {amount}',
    'Flight cancelled at the gate with no explanation, rebooked for 2 days later?? {at} this is ridiculous',
    'The crew member at gate B12 was incredibly rude to my elderly mother. {at} I expect an apology',
    { text: "{at} strong smell of smoke in the cabin on our flight to {city} right now and crew says it's normal??", urgent: true },
    { text: '{at} Mein Koffer ist beschädigt angekommen, wie kann ich das melden?', lang: 'de' },
    "{at} can't check in online, the app keeps saying 'booking not found' for ref {order}",
    "{at} still waiting for my refund for the cancelled flight, it's been {days} days",
    { text: '{at} Vol annulé, aucune information et personne au téléphone. Je veux un remboursement.', lang: 'fr' },
  ]),
  ...templates('airline', 'none', [
    'Smoothest landing ever, thank you {brand} crew 🙌✈️',
    'Window seat, sunset over the Alps. No complaints today #travel #avgeek https://pics.example.com/alps',
    '{brand} adds a new daily route to {city} starting April',
    'Delayed bag arrived at my hotel this morning, all sorted now, thanks {at}',
    'Is it just me or are airplane cookies the best cookies? 🍪',
    'Cabin crew wanted! {brand} recruitment day in {city} this Saturday #jobs',
  ]),

  ...templates('retail', 'lead', [
    '{at} do you do bulk pricing on the {product}? Need {qty} for our new office in {city}',
    '{at} is the {product} back in stock anywhere near {city}? been waiting weeks to buy one',
    '{competitor} cancelled my order again. {at} do you ship to {city} and how fast?',
    '{at} any discount codes for the {product}? Ready to order today',
    'Thinking of getting the {product} from {brand}, anyone tried it? worth the price?',
    '{at} we run a small shop in {city}, can we become a reseller for your products?',
    { text: '{at} ¿hacéis envíos a {city}? quiero pedir {qty} unidades', lang: 'es' },
    '{at} do you price match {competitor}? they have the {product} for {amount} less',
  ]),
  ...templates('retail', 'case', [
    "{at} my order {order} was supposed to arrive {days} days ago, tracking hasn't moved 😤",
    '{at} the {product} arrived with a cracked frame, box was crushed. Need a replacement',
    '{at} I returned the {product} 3 weeks ago and still no refund of {amount}',
    { text: '{at} the charger that came with my {product} sparked and melted on my desk. This is dangerous!!', urgent: true },
    'Ordered size 42, got size 38 🙄 {at} how do I exchange these?',
    '{at} your website charged my card but says the order failed. Order {order}?',
    '{at} store manager in {city} refused to honour the warranty and was really rude about it',
    { text: '{at} Bestellung {order} ist nie angekommen, laut Tracking zugestellt. Was nun?', lang: 'de' },
    { text: '{at} commande {order} reçue incomplète, il manque deux articles', lang: 'fr' },
  ]),
  ...templates('retail', 'none', [
    'New {product} from {brand} arrived today and it is perfect 😍 #happycustomer',
    '{brand} Black Friday sale starts Friday: up to 50% off everything! https://shop.example.com/bf',
    'Unboxing video of my new {product} is up! https://video.example.com/unbox 🎥',
    'Refund came through today, all sorted now thanks {at}',
    'BUY FOLLOWERS CHEAP 1000 for $5 👉 https://spam.example.net 🔥🔥🔥',
    "Anyone else's cat immediately claim the box? 😹 #caturday",
  ]),

  ...templates('banking', 'lead', [
    "{at} what's the interest rate on your {product} right now? thinking of moving my savings from {competitor}",
    '{at} I run a small bakery in {city}, how do I open a business account and what are the fees?',
    '{at} do you offer mortgages for first-time buyers? looking at flats in {city}',
    "Fed up with {competitor}'s app. {at} how long does it take to open an account with you?",
    '{at} can someone call me about a {product} for my company? we have {qty} employees',
    { text: '{at} Quelles sont les conditions pour ouvrir un compte professionnel chez vous ?', lang: 'fr' },
    '{at} is there an annual fee on the {product}? want to apply this week',
  ]),
  ...templates('banking', 'case', [
    { text: "{at} there are 3 card payments on my account I didn't make, someone has my card details. Please freeze it NOW", urgent: true },
    "{at} app has been down all morning, can't pay my rent 😡",
    '{at} you charged me an overdraft fee of {amount} when I was never overdrawn',
    '{at} locked out of online banking after the update, the SMS code never arrives',
    '{at} transfer of {amount} left my account {days} days ago and never arrived. Ref {order}',
    "{at} card declined abroad even though I told you I'm travelling to {city}. Stuck at the hotel desk",
    '{at} I want to close my account, 45 minutes on hold and nobody picks up',
    { text: '{at} ¡Me habéis cobrado dos veces la comisión de mantenimiento! Quiero que me lo devolváis', lang: 'es' },
    "{at} how do I change the daily limit on my {product}? can't find it in the app",
  ]),
  ...templates('banking', 'none', [
    'Props to the {brand} branch staff in {city}, so patient with my grandad 💙',
    '{brand} reports record quarterly profit https://finance.example.com/q3-results',
    'My bank balance at the end of the month: 📉📉📉 #relatable',
    'Card issue from yesterday is resolved, all sorted now, thanks {at}',
    '⚠️ Reminder: {brand} will never ask for your PIN by text. Stay safe! #fraudawareness',
    'URGENT your {brand} account is suspended, verify here: http://secure-login.example.biz/verify',
  ]),

  ...templates('food', 'lead', [
    '{at} do you do office catering for {qty} people in {city}? need it for a team event next Friday',
    '{at} how much is the {product}? {competitor} keeps raising fees so thinking of switching',
    '{at} when are you launching in {city}?? would order every day tbh',
    '{at} is there a free trial for the {product}?',
    '{at} we own a restaurant in {city}, how can we partner with you and get listed?',
    { text: '{at} Liefert ihr auch nach {city}? Was kostet die {product}?', lang: 'de' },
    '{at} any promo codes for a first order? about to download the app',
  ]),
  ...templates('food', 'case', [
    "{at} order {order} is 90 minutes late and the driver location hasn't moved in 40 min 😤",
    "{at} got someone else's order, half of mine missing. I want a refund, not credits",
    { text: "{at} I marked a nut allergy and the meal came with peanut sauce. My son had a reaction, we're at the ER", urgent: true },
    '{at} food arrived cold and soggy, sooo disappointing for {amount}',
    '{at} driver was really rude and threw the bag at my door',
    '{at} charged for the {product} even though I cancelled last month!!',
    "{at} app keeps logging me out and won't let me pay 🙄",
    { text: '{at} el pedido {order} nunca llegó pero la app dice entregado. Quiero mi dinero', lang: 'es' },
    { text: '{at} ma commande est arrivée avec une heure de retard et froide 😡', lang: 'fr' },
  ]),
  ...templates('food', 'none', [
    'Late night ramen delivered in 20 mins, {brand} you absolute legends 🍜🙏',
    '{brand} to pay drivers per km from next month, reports say https://news.example.com/delivery-pay',
    'My diet plan vs the {brand} notification at 11pm 😂',
    'Missing fries were refunded in 5 minutes, all sorted now thanks {at} 🍟',
    'Drivers wanted in {city}! Flexible hours, weekly pay #hiring',
    'Win FREE food for a year!!! click 👉 https://fr33food.example.xyz and enter ur card details',
  ]),

  ...templates('energy', 'lead', [
    '{at} what would a {product} cost for a 3-bed house in {city}? getting quotes',
    "Switching from {competitor} when my contract ends. {at} what's your best {product} right now?",
    '{at} do you install the {product} for businesses? we have {qty} sites',
    '{at} can I get a quote for a {product} installation? is the survey free?',
    { text: '{at} ¿ofrecéis la tarifa fija para pymes en {city}?', lang: 'es' },
    '{at} is the green tariff available in {city}? want 100% renewable before winter',
  ]),
  ...templates('energy', 'case', [
    { text: '{at} I smell gas near the meter in my hallway, what do I do??', urgent: true },
    '{at} power cut on our whole street in {city} for 6 hours, no updates on the outage map',
    "{at} estimated bill of {amount} for a flat that's been empty for months. Meter reading sent twice!",
    '{at} your engineer was meant to fit my {product} today and never showed',
    "{at} the {product} shows wrong readings since it was installed, I'm being overcharged",
    "{at} I've been waiting {days} days for my final bill refund after moving out",
    { text: '{at} Seit dem Zählertausch stimmt meine Abrechnung nicht mehr, bitte um Rückruf', lang: 'de' },
    '{at} how do I submit a meter reading in the new app? the button is greyed out',
    "{at} I'm leaving if you put my direct debit up again without explaining why",
  ]),
  ...templates('energy', 'none', [
    'Our new {product} paid for itself in 2 years. Very happy with {brand} 🌞',
    '{brand} to invest €2bn in offshore wind https://energy.example.com/offshore',
    "Heating's on, tea's brewing, winter can come now ☕🔥",
    'Power is back on, all sorted now thanks {at} for the quick fix ⚡',
    'Apprenticeships open at {brand} in {city}: train as an electrician! #jobs #apprenticeship',
    { text: 'Merci {brand} pour l’intervention rapide hier soir, tout fonctionne 👌', lang: 'fr' },
  ]),
];

export const SANDBOX_REPLIES: readonly SandboxReply[] = [
  { text: 'still not fixed 😤', after: 'case', by: 'author', intent: 'case' },
  { text: "any update? it's been {days} days", after: 'case', by: 'author', intent: 'case' },
  { text: 'DM sent', after: 'any', by: 'author', intent: 'none' },
  { text: 'DMed you my order number {order}', after: 'case', by: 'author', intent: 'case' },
  { text: 'Still waiting... hello?? {at}', after: 'case', by: 'author', intent: 'case' },
  { text: "this is the third time I'm asking, pleaseee answer", after: 'case', by: 'author', intent: 'case' },
  { text: "your DM just says 'we're looking into it' again. Nothing works", after: 'case', by: 'author', intent: 'case' },
  { text: 'Sigo esperando una respuesta...', after: 'case', by: 'author', intent: 'case', lang: 'es' },
  { text: 'Immer noch nicht behoben!', after: 'case', by: 'author', intent: 'case', lang: 'de' },
  { text: 'Toujours aucune réponse...', after: 'case', by: 'author', intent: 'case', lang: 'fr' },
  { text: 'all sorted now, thanks!', after: 'case', by: 'author', intent: 'none' },
  { text: "ok it's working again, thanks for the help 🙏", after: 'case', by: 'author', intent: 'none' },
  { text: 'Ya está solucionado, gracias', after: 'case', by: 'author', intent: 'none', lang: 'es' },
  { text: 'also, do you offer annual billing?', after: 'lead', by: 'author', intent: 'lead' },
  { text: 'DM sent with our company details, we want to move fast', after: 'lead', by: 'author', intent: 'lead' },
  { text: 'great, how do I sign up?', after: 'lead', by: 'author', intent: 'lead' },
  { text: 'can someone call me back about this? {at}', after: 'lead', by: 'author', intent: 'lead' },
  { text: 'and is there a discount for {qty} or more?', after: 'lead', by: 'author', intent: 'lead' },
  { text: 'Vale, ¿y cómo me doy de alta?', after: 'lead', by: 'author', intent: 'lead', lang: 'es' },
  { text: 'haha exactly', after: 'none', by: 'any', intent: 'none' },
  { text: '😂😂😂', after: 'none', by: 'any', intent: 'none' },
  { text: 'love this', after: 'none', by: 'other', intent: 'none' },
  { text: 'thanks!', after: 'any', by: 'any', intent: 'none' },
  { text: 'same here in {city} 😩 nothing works', after: 'case', by: 'other', intent: 'case' },
  { text: 'me too, been charged twice as well {at}', after: 'case', by: 'other', intent: 'case' },
  { text: 'Bei mir genauso, seit gestern!', after: 'case', by: 'other', intent: 'case', lang: 'de' },
  { text: 'Pareil ici à {city} 😡', after: 'case', by: 'other', intent: 'case', lang: 'fr' },
  { text: '+1, also interested in pricing for our team', after: 'lead', by: 'other', intent: 'lead' },
  { text: 'following, we are looking too', after: 'lead', by: 'other', intent: 'lead' },
  { text: 'we switched last year, no regrets tbh', after: 'lead', by: 'other', intent: 'none' },
  { text: '{at} please answer this person', after: 'case', by: 'other', intent: 'none' },
  { text: 'lol', after: 'any', by: 'other', intent: 'none' },
];

/** Given names for sandbox authors; some non-ASCII on purpose. */
export const SANDBOX_FIRST_NAMES: readonly string[] = [
  'José',
  'María',
  'Zoë',
  'Søren',
  'Björn',
  'François',
  'Aoife',
  'Chloé',
  'Łukasz',
  'Mehmet',
  'Priya',
  'Wei',
  'Yuki',
  'Oluwaseun',
  'Fatima',
  'Ahmed',
  'Lena',
  'Jonas',
  'Emma',
  'Liam',
  'Noah',
  'Olivia',
  'Lucas',
  'Sofia',
  'Mateo',
  'Camille',
  'Hugo',
  'Inès',
  'Kai',
  'Mia',
  'Ethan',
  'Ava',
  'Leon',
  'Hannah',
  'Ravi',
  'Aisha',
  'Diego',
  'Elena',
  'Tomás',
  'Nora',
];

/** Family names for sandbox authors. */
export const SANDBOX_LAST_NAMES: readonly string[] = [
  'García',
  'Müller',
  'Smith',
  'Dubois',
  'Rossi',
  'Kowalski',
  'Nguyen',
  "O'Brien",
  'Johansson',
  'Okafor',
  'Patel',
  'Kim',
  'Silva',
  'Schneider',
  'Martin',
  'Rodríguez',
  'Brown',
  'Jensen',
  'Novak',
  'Haddad',
  'Tanaka',
  'Moreau',
  'Fischer',
  'López',
  'Wilson',
  'Costa',
  'Ivanova',
  'Murphy',
  'Singh',
  'Chen',
  'Bianchi',
  'Lefebvre',
  'Weber',
  'Hernández',
  'Taylor',
  'Andersen',
  'Yılmaz',
  'Mendes',
  'Clarke',
  'Berg',
];
