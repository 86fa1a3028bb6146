//! Every word list the scorer reads, in one place: what denies, imagines, values or dates a
//! mention, what counts as a number, a time, a result or an action, the stop words, fillers,
//! hedges and crutch phrases. A rule that needs a list takes it from here, so two rules never
//! disagree about what "not" or "then" is.

/// Words that open a new clause even without a comma: a negation before "but" does not reach
/// past it ("I didn't wait, but I told my manager").
pub const CLAUSE_OPENERS: &[&str] = &[
    "but",
    "because",
    "although",
    "though",
    "whereas",
    "however",
    "so",
    "which",
    "while",
    "then",
    "and",
    "since",
    "until",
    "unless",
    "otherwise",
];

/// Words the stop list lets through that carry no content of their own to repeat.
pub const NOT_CONTENT: &[&str] = &[
    "didnt", "dont", "doesnt", "wont", "cant", "isnt", "wasnt", "arent", "werent", "not", "no",
    "yes", "yeah", "okay", "well", "theyre", "its", "lets",
];

/// Words and phrases that pad speech without meaning; fillers ("um", "like", "you know") and
/// hedges ("I think", "maybe") are counted by their own parts, not here.
pub const CRUTCH_PHRASES: &[&str] = &[
    "basically",
    "actually",
    "literally",
    "honestly",
    "obviously",
    "essentially",
    "totally",
    "super",
    "the thing is",
    "at the end of the day",
    "to be honest",
    "and stuff",
    "or whatever",
    "in terms of",
];

/// Hesitations: one sound, spelled as Whisper spells it ("umm" and "hmmm" fold to these), and
/// what the filled-pause detector writes for one it hears from the sound.
/// "huh", "gah" and "guh" are how Whisper writes a drawn-out "er" or "hmm" it hears as
/// neither (flite and festival voices, tune half of the filler set); none is a word an answer
/// says otherwise.
pub const HESITATIONS: &[&str] = &[
    "um", "uh", "er", "erm", "ah", "hmm", "mm", "huh", "gah", "guh",
];

/// The word the transcript shows for a hesitation heard from the sound alone.
pub const HEARD_HESITATION: &str = "uh";

/// Phrases that are fillers in some positions only (`score::fillers` decides where).
pub const FILLER_PHRASES: &[&str] = &["you know", "i mean", "like"];

/// The fillers viva counts unless the configuration says otherwise.
pub fn default_fillers() -> impl Iterator<Item = &'static str> {
    HESITATIONS.iter().chain(FILLER_PHRASES).copied()
}

/// Whether a written word is a hesitation, however drawn out ("Ummm," is).
pub fn is_hesitation_spelling(word: &str) -> bool {
    let norm: String = word
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let folded = super::text::fold_repeats(&norm);
    !folded.is_empty()
        && HESITATIONS
            .iter()
            .any(|h| super::text::fold_repeats(h) == folded)
}

/// Words after which "like" is a verb: "I like", "users would like", "we didn't like".
pub const LIKE_AS_VERB_AFTER: &[&str] = &[
    "i",
    "you",
    "we",
    "they",
    "he",
    "she",
    "people",
    "users",
    "customers",
    "members",
    "would",
    "wouldnt",
    "do",
    "does",
    "did",
    "dont",
    "doesnt",
    "didnt",
    "to",
    "really",
    "also",
    "might",
    "will",
    "may",
    "could",
    "should",
    "not",
    "id",
    "youd",
    "wed",
    "theyd",
    "always",
    "never",
    "still",
    "generally",
    "actually",
];

/// Words after which "like" is a preposition or conjunction: "looks like", "things like",
/// "just like", "feel like".
pub const LIKE_AS_PREPOSITION_AFTER: &[&str] = &[
    "look",
    "looks",
    "looked",
    "looking",
    "seem",
    "seems",
    "seemed",
    "sound",
    "sounds",
    "sounded",
    "feel",
    "feels",
    "felt",
    "something",
    "anything",
    "nothing",
    "things",
    "stuff",
    "just",
    "more",
    "much",
    "exactly",
    "is",
    "was",
    "were",
    "are",
    "be",
    "company",
    "companies",
    "products",
    "services",
    "tools",
    "teams",
    "platforms",
    "partners",
    "markets",
    "metrics",
    "act",
    "acted",
    "treat",
    "treated",
    "behave",
    "its",
    "thats",
];

/// Words that open a clause, after which a bare "like" is a hesitation: "so like we decided".
pub const LIKE_FILLER_OPENERS: &[&str] =
    &["and", "so", "but", "then", "because", "um", "uh", "well"];

/// The hedges counted, as token sequences.
pub const HEDGES: &[&str] = &[
    "i think",
    "i guess",
    "maybe",
    "probably",
    "sort of",
    "kind of",
    "i believe",
    "hopefully",
];

/// Words after which "kind of" or "sort of" names a type.
pub const DETERMINERS: &[&str] = &[
    "a", "an", "the", "this", "that", "these", "those", "what", "which", "any", "some", "every",
    "each", "one", "same", "other", "another", "whatever",
];

/// Words that deny what follows them in their clause. "without" is absent on purpose:
/// "I decided without waiting for sign-off" is the strong answer.
pub const NEGATORS: &[&str] = &[
    "not", "never", "no", "dont", "didnt", "doesnt", "wasnt", "werent", "isnt", "arent", "cant",
    "cannot", "couldnt", "wouldnt", "wont", "shouldnt", "havent", "hasnt", "hadnt", "nobody",
    "nothing", "neither", "nor", "hardly", "barely",
];

/// Words that, just before an avoid phrase, mean the speaker is rejecting it, besides the
/// negators and rejectors: "rather than just use more servers" is the good answer.
pub const AVOID_REJECTORS: &[&str] = &["avoid", "without", "beyond", "besides"];

/// Words that reject what comes right after them: "rather than blame the team".
pub const REJECTORS: &[&str] = &["instead", "rather"];

/// Modal words that make a clause about what might be, not what was.
pub const MODALS: &[&str] = &[
    "would",
    "could",
    "might",
    "should",
    "id",
    "wed",
    "youd",
    "theyd",
    "if",
    "hope",
    "hopefully",
    "ideally",
];

/// Adjectives that, after "is" or "are", state a value: "communication is key".
pub const VALUE_ADJECTIVES: &[&str] = &[
    "important",
    "key",
    "crucial",
    "essential",
    "vital",
    "critical",
    "valuable",
    "necessary",
    "fundamental",
    "paramount",
];

/// (from mention.rs)
pub const COPULAS: &[&str] = &["is", "are", "was", "be", "its", "thats"];

/// Verbs that state a value held: "I value", "I believe in", "it matters".
pub const VALUE_VERBS: &[(&str, &str)] = &[
    ("value", ""),
    ("believe", "in"),
    ("matters", ""),
    ("matter", ""),
    ("passionate", "about"),
    ("care", "about"),
    ("prioritize", ""),
];

/// Words that make a clause a habit rather than an event: "I always", "usually", "I tend to".
pub const HABITUAL: &[&str] = &[
    "always",
    "usually",
    "generally",
    "typically",
    "often",
    "tend",
];

/// Two-word openings of a general rule: "you have to", "you need to", "I try to".
pub const GENERAL_RULES: &[(&str, &str)] = &[
    ("you", "have"),
    ("you", "need"),
    ("you", "cant"),
    ("you", "must"),
    ("try", "to"),
    ("its", "about"),
];

/// Words that date a habit from the story, which makes it the lesson learned: "since then I
/// always test", "now I always ask".
pub const SINCE_THE_STORY: &[&str] = &["since", "now", "afterwards", "ever"];

/// A clause opened by these goes on with the one before it, and so does its "not": "I didn't
/// write a brief, or run a weekly sync".
pub const CONTINUERS: &[&str] = &["or", "nor"];

/// Other people who may be the doer of what a mention names.
pub const OTHER_DOERS: &[&str] = &["she", "he", "they"];

/// Words that may stand between a doer and the verb: "she then made the call".
pub const ADVERBS_BEFORE_VERB: &[&str] = &[
    "just",
    "then",
    "also",
    "finally",
    "eventually",
    "really",
    "quickly",
    "immediately",
    "personally",
    "actually",
    "first",
    "directly",
    "myself",
    "ourselves",
    "both",
    "all",
    "never",
];

/// Contractions that say "would" or "had": "I'd ask" imagines, "I'd already briefed" and "I'd
/// heard" tell what had happened.
pub const WOULD_OR_HAD: &[&str] = &["id", "wed", "youd", "theyd"];

/// Past participles without -ed that may follow "had".
pub const IRREGULAR_PARTICIPLES: &[&str] = &[
    "been", "done", "heard", "said", "put", "gone", "taken", "seen", "made", "built", "told",
    "sent", "spent", "found", "given", "written", "run", "set", "got", "gotten", "known", "left",
    "lost", "won", "kept", "brought", "bought", "sold", "shown", "spoken", "chosen", "begun",
];

/// (from specifics.rs)
pub const NUMBER_WORDS: &[&str] = &[
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "zero",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "billion",
    "billions",
    "percent",
    "half",
    "halved",
    "double",
    "doubled",
    "tripled",
    "dozen",
    "twice",
    "thrice",
];

/// Days, months and named periods: a point in time on their own ("on Friday", "in March").
pub const TIME_WORDS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "weekend",
    "january",
    "february",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "yesterday",
    "overnight",
    "holiday",
    "holidays",
    "q1",
    "q2",
    "q3",
    "q4",
];

/// Lengths of time, which place an answer in time only when something pins them down: "that
/// quarter", "last year", "two weeks" (a number), but not "hit the number for the quarter" or
/// "trust over years".
pub const PERIOD_WORDS: &[&str] = &[
    "week", "weeks", "month", "months", "quarter", "quarters", "year", "years", "hours", "minutes",
    "day", "days",
];

/// Words that pin a period down to one particular stretch of time.
pub const PERIOD_ANCHORS: &[&str] = &[
    "that",
    "last",
    "next",
    "this",
    "same",
    "following",
    "previous",
    "first",
    "second",
    "third",
    "final",
    "one",
    "a",
    "within",
];

/// Verbs of change, in the past: a result happened.
pub const RESULT_VERBS: &[&str] = &[
    "increased",
    "decreased",
    "grew",
    "dropped",
    "doubled",
    "halved",
    "reduced",
    "improved",
    "raised",
    "lowered",
    "saved",
    "rose",
    "fell",
    "jumped",
    "climbed",
    "declined",
    "boosted",
    "lifted",
    "recovered",
    "shipped",
    "launched",
    "won",
    "lost",
    "tripled",
    "shrank",
    "cut",
    "beat",
];

/// Past-tense verbs that do not end in -ed.
pub const IRREGULAR_PAST: &[&str] = &[
    "took", "made", "built", "ran", "told", "wrote", "sent", "set", "led", "gave", "found", "got",
    "went", "spent", "chose", "brought", "kept", "met", "sold", "bought", "drew", "flew", "caught",
    "cut", "split", "shut", "put", "held", "rebuilt", "rewrote", "paid", "dug", "hid", "sat",
    "stood", "threw", "won", "lost", "began", "broke", "drove", "fought", "hit", "laid", "left",
    "let", "sought", "spoke", "taught", "tore", "undid", "withdrew",
];

/// -ed words that are not something done: thoughts, feelings, wants, and adjectives.
pub const NOT_ACTIONS: &[&str] = &[
    "learned",
    "realized",
    "realised",
    "wanted",
    "needed",
    "liked",
    "loved",
    "hated",
    "believed",
    "hoped",
    "wished",
    "seemed",
    "tried",
    "used",
    "supposed",
    "focused",
    "interested",
    "excited",
    "surprised",
    "tired",
    "involved",
    "based",
    "related",
    "called",
    "need",
    "red",
    "bed",
    "shed",
    "feed",
    "speed",
    "seed",
    "hundred",
];

/// What follows a verb but is no object of its own: "I made sure", "we went ahead".
pub const LIGHT_OBJECTS: &[&str] = &[
    "sure",
    "ahead",
    "things",
    "thing",
    "stuff",
    "something",
    "everything",
    "anything",
    "way",
    "best",
    "job",
    "progress",
    "sense",
    "lot",
    "bit",
    "deal",
    "back",
    "down",
    "away",
    "along",
    "forward",
    "together",
    "off",
    "around",
    "people",
    "everyone",
    "somebody",
    "someone",
    "fine",
    "well",
    "harder",
    "hard",
    "time",
    "decision",
    "call",
];

/// (from specifics.rs)
pub const DOERS: &[&str] = &["i", "we"];

/// "I" in its contracted forms, always written with a capital and never a name.
pub const FIRST_PERSON: &[&str] = &["i", "im", "id", "ive", "ill"];

/// The cue phrases that open each STAR part. Matched like rubric phrases (stems, one extra word).
pub const STAR_CUES: [(&str, &[&str]); 4] = [
    (
        "situation",
        &[
            "situation",
            "at the time",
            "back when",
            "in my last role",
            "in my previous role",
            "when I was",
            "context",
            "background",
            "a few years ago",
            "last year",
            "we had a",
            "at my last company",
        ],
    ),
    (
        "task",
        &[
            "my task",
            "my goal",
            "my job was",
            "I needed to",
            "I had to",
            "responsible for",
            "the challenge was",
            "the problem was",
            "asked me to",
            "the goal was",
            "we needed to",
            "my role was",
        ],
    ),
    (
        "action",
        &[
            "so I",
            "I decided",
            "I started",
            "I built",
            "I led",
            "I proposed",
            "I worked with",
            "I set up",
            "I ran",
            "my approach",
            "first I",
            "I pulled",
            "I created",
            "I wrote",
            "I convinced",
            "I delegated",
        ],
    ),
    (
        "result",
        &[
            "as a result",
            "in the end",
            "the result",
            "the outcome",
            "we ended up",
            "ended up",
            "which led to",
            "increased",
            "reduced",
            "grew",
            "improved",
            "percent",
            "I learned",
            "we learned",
            "the lesson",
            "looking back",
        ],
    ),
];

/// English function words. "not" and "no" are deliberately absent: they flip a phrase's meaning.
pub const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "both", "but", "by", "can", "could", "did", "do", "does", "doing",
    "each", "for", "from", "had", "has", "have", "having", "he", "her", "here", "hers", "him",
    "his", "how", "i", "if", "im", "in", "into", "is", "it", "its", "itself", "ive", "just", "me",
    "might", "more", "most", "must", "my", "myself", "of", "on", "once", "only", "or", "other",
    "our", "ours", "out", "over", "own", "really", "she", "should", "so", "some", "such", "than",
    "that", "thats", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "up", "us", "very", "was", "we", "were", "weve", "what", "when",
    "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
    "youre", "yours",
];

/// Words too general to say anything of one's own: an answer made of them ("we made things
/// work, it was a lot of good stuff") has told nothing, however long.
pub const ORDINARY_WORDS: &[&str] = &[
    "thing",
    "things",
    "stuff",
    "lot",
    "lots",
    "people",
    "going",
    "get",
    "gets",
    "got",
    "make",
    "makes",
    "made",
    "way",
    "ways",
    "like",
    "know",
    "knew",
    "think",
    "thought",
    "say",
    "said",
    "time",
    "times",
    "good",
    "great",
    "new",
    "one",
    "even",
    "much",
    "many",
    "still",
    "back",
    "kind",
    "sort",
    "bit",
    "actually",
    "basically",
    "pretty",
    "something",
    "everything",
    "everyone",
    "someone",
    "anything",
    "anyone",
    "able",
    "want",
    "wanted",
    "need",
    "needed",
    "sure",
    "right",
    "really",
    "always",
    "never",
    "every",
    "whole",
    "part",
    "went",
    "come",
    "came",
    "take",
    "took",
    "put",
    "look",
    "looked",
    "work",
    "worked",
    "working",
    "felt",
    "feel",
    "important",
    "overall",
    "definitely",
    "honestly",
    "literally",
    "obviously",
    "yes",
    "yeah",
    "okay",
    "well",
    "instead",
    "rather",
    "end",
    "ended",
    "next",
    "last",
    "first",
    "later",
    "better",
    "best",
    "big",
    "bigger",
    "real",
    "really",
    "quite",
    "enough",
    "maybe",
    "probably",
    "guess",
    "believe",
    "try",
    "tried",
    "trying",
    "let",
    "lets",
    "talk",
    "talked",
    "told",
];

/// Words that open a clause by linking it to the one before, in cause or time: how an account
/// hangs together ("so I called", "because the page", "then we", "after that").
pub const LINKING_WORDS: &[&str] = &[
    "because",
    "so",
    "then",
    "after",
    "afterwards",
    "when",
    "which",
    "since",
    "until",
    "once",
    "before",
    "while",
    "but",
    "although",
    "though",
    "that",
    "thats",
    "as",
];

/// Words Whisper or a speaker capitalises that are no names: "OK", greetings, titles (and every
/// hesitation, `is_hesitation_spelling`).
pub const NOT_NAMES: &[&str] = &[
    "ok", "okay", "oh", "yeah", "yes", "no", "so", "hi", "hey", "hello", "mr", "mrs", "ms", "dr",
    "sir", "madam", "thanks", "please", "well", "right", "anyway", "alright",
];
