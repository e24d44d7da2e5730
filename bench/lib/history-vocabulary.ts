/**
 * The words seeded message bodies are made of (bench/lib/history-seed.ts), most frequent first: a body draws each
 * word at index ⌊V·u^SKEW⌋ for a uniform u, so the first words are in a large share of all messages and the long tail in
 * a handful — search terms then have the selectivity they have in real chat. Chat English first, then words of other
 * languages and scripts (the 'simple' text-search configuration assumes none), then made-up words standing for
 * names, jargon and typos.
 */

/** Chat English, roughly by how often people type it. */
const ENGLISH = `the I you to a and it is that of in for we this on be have not with can do are just so meeting but
it's was what at if my me all get will there now no yes think one up out like ok know would about how your good
go time here they should see then some need when from more thanks also can't still want going make today back
did right any let them tomorrow work maybe because sure well use new had got look why which could our only
where after before something way team first really take much has last morning please update again week
people said day been great sorry fix call try over other check issue yeah done even thing same lunch might
think release hey these those its their tonight build tests test change code review branch merge deploy
deployed deployment depends department deprecated deposit deploying server client database query index table
schema migration rollback staging production config setting settings error errors warning log logs bug bugs
crash crashed restart restarted restore restored retry timeout latency slow fast memory disk network socket
request requests response pull push commit commits rebase conflict conflicts ticket tickets sprint standup
demo customer customers support design designs mockup feedback doc docs document notes plan plans roadmap
budget invoice contract legal security password login logout token session sessions cache redis postgres
search results page pages list lists message messages thread threads reply replies reaction reactions emoji
channel channels room rooms user users account accounts admin admins owner members member invite invited
join joined leave left weekend holiday vacation office remote home coffee tea pizza dinner breakfast birthday
party happy congrats welcome nice cool awesome perfect exactly agreed fine okay lol haha wow hmm
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december morning afternoon evening night soon later earlier yesterday minute
minutes hour hours second seconds number numbers price cost free paid order orders shipping delivery package
phone email address name names photo photos video videos file files folder upload download link links share
shared screen screenshot window tab browser app apps mobile android iphone laptop desktop keyboard mouse
printer wifi vpn cloud bucket region cluster node nodes container docker kubernetes pipeline ci cd job jobs
queue worker workers cron schedule scheduled report reports chart dashboard metric metrics alert alerts
incident outage postmortem oncall pager escalate escalated resolved blocked blocker priority urgent asap fyi`;

/** Words of other languages and scripts, mixed in after the common English ones. */
const OTHER_LANGUAGES = `und der die das ist nicht mit für auf ein eine Straße Größe schön Grüße danke bitte morgen
heute Besprechung Fehler Rechnung le la les est avec pour une réunion café déjà très merci bonjour demain
aujourd'hui problème serveur el los las con para una mañana reunión niño año gracias hola también qué cómo
português reunião amanhã obrigado você não então il che per sono della grazie domani riunione привет спасибо
завтра сегодня встреча ошибка сервер пожалуйста хорошо да нет καλημέρα ευχαριστώ αύριο συνάντηση
東京 大阪 会議 ありがとう 明日 今日 問題 北京 上海 你好 谢谢 明天 会议 مرحبا شكرا غدا اجتماع שלום תודה מחר
नमस्ते धन्यवाद कल बैठक merhaba teşekkürler yarın toplantı cześć dziękuję jutro spotkanie hej tack imorgon
möte hallo dank morgen vergadering kiitos huomenna tervetuloa xin cảm ơn ngày mai สวัสดี ขอบคุณ 안녕하세요 감사합니다 내일`;

const SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "den", "gar", "pel", "tor", "an", "is", "ul", "bre", "qua", "zo", "fi", "mak"];

/** Made-up words for the long tail: two to four syllables, deterministic, none equal to a real word above. */
function madeUpWords(count: number, taken: ReadonlySet<string>): string[] {
  const words: string[] = [];
  for (let n = 0; words.length < count; n++) {
    let rest = n;
    let word = "";
    const length = 2 + (n % 3);
    for (let part = 0; part < length; part++) {
      word += SYLLABLES[rest % SYLLABLES.length];
      rest = Math.floor(rest / SYLLABLES.length) + part * 7 + 3;
    }
    if (!taken.has(word)) {
      words.push(word);
      (taken as Set<string>).add(word);
    }
  }
  return words;
}

/** Planted in one message in RARE_EVERY (never drawn from the vocabulary): the rare search term. */
export const RARE_WORD = "quokka";
export const RARE_EVERY = 50_000;
/** Appended to about one message in PHRASE_EVERY: a phrase people search for in quotes. */
export const PHRASE = "pull request";
export const PHRASE_EVERY = 300;

/** How many words the vocabulary has. */
export const VOCABULARY_SIZE = 2500;
/** A body's word is VOCABULARY[⌊V·u^SKEW⌋]: the larger, the more often the first words come up. */
export const SKEW = 3;

function buildVocabulary(): string[] {
  const english = ENGLISH.split(/\s+/).filter(Boolean);
  const other = OTHER_LANGUAGES.split(/\s+/).filter(Boolean);
  const seen = new Set<string>();
  const ordered: string[] = [];
  // Other languages interleaved into the English after its first 60 words: frequent enough to be found.
  let otherAt = 0;
  english.forEach((word, index) => {
    if (!seen.has(word)) {
      seen.add(word);
      ordered.push(word);
    }
    if (index >= 60 && index % 3 === 0 && otherAt < other.length) {
      const foreign = other[otherAt++] as string;
      if (!seen.has(foreign)) {
        seen.add(foreign);
        ordered.push(foreign);
      }
    }
  });
  for (const word of other.slice(otherAt)) {
    if (!seen.has(word)) {
      seen.add(word);
      ordered.push(word);
    }
  }
  seen.add(RARE_WORD);
  return [...ordered, ...madeUpWords(VOCABULARY_SIZE - ordered.length, seen)];
}

export const VOCABULARY: readonly string[] = buildVocabulary();
